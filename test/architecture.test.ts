/**
 * The shape of lib/: layers that import only downward, no import cycle, short files and short functions. Read from
 * the TypeScript sources (type imports included: one turned into a value import would give `undefined` at load
 * time inside a cycle). ESLint's no-restricted-imports says the same per layer; this test also sees cycles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { REPO } from './helpers/paths';

/** Bottom up: each layer may import its own folder and the layers before it. */
export const LAYERS = ['base', 'proc', 'duckdb', 'lock', 'outcome', 'run', 'operations', 'cleanup'] as const;
const LIB = join(REPO, 'lib');
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;

function sources(folder: string): string[] {
	return readdirSync(folder).flatMap((name) => {
		const path = join(folder, name);
		return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
	});
}

function parse(path: string): ts.SourceFile {
	return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Every module a file names: import/export ... from, import type, import(), require(). */
function specifiers(file: ts.SourceFile): string[] {
	const found: string[] = [];
	const visit = (node: ts.Node): void => {
		if (
			(ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
			node.moduleSpecifier &&
			ts.isStringLiteral(node.moduleSpecifier)
		)
			found.push(node.moduleSpecifier.text);
		if (
			ts.isCallExpression(node) &&
			node.arguments.length &&
			ts.isStringLiteral(node.arguments[0]) &&
			(node.expression.kind === ts.SyntaxKind.ImportKeyword ||
				(ts.isIdentifier(node.expression) && node.expression.text === 'require'))
		) {
			found.push(node.arguments[0].text);
		}
		if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
			found.push(node.argument.literal.text);
		ts.forEachChild(node, visit);
	};
	visit(file);
	return found;
}

function layerOf(path: string): string {
	return relative(LIB, path).split('/')[0];
}

/** lib/ file → the lib/ files it imports. */
function importGraph(): Map<string, string[]> {
	const files = new Set(sources(LIB));
	const graph = new Map<string, string[]>();
	for (const path of files) {
		const targets = specifiers(parse(path))
			.filter((spec) => spec.startsWith('.'))
			.map((spec) => resolve(dirname(path), spec))
			.map((target) => [`${target}.ts`, join(target, 'index.ts')].find((candidate) => files.has(candidate)) ?? target);
		graph.set(path, targets);
	}
	return graph;
}

/** Pure: the first cycle found in a graph, as a path that ends where it starts; undefined when there is none. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
	const state = new Map<string, 'open' | 'done'>();
	const stack: string[] = [];
	const visit = (node: string): string[] | undefined => {
		if (state.get(node) === 'done') return undefined;
		if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
		state.set(node, 'open');
		stack.push(node);
		for (const next of graph.get(node) ?? []) {
			const cycle = visit(next);
			if (cycle) return cycle;
		}
		stack.pop();
		state.set(node, 'done');
		return undefined;
	};
	for (const node of graph.keys()) {
		const cycle = visit(node);
		if (cycle) return cycle;
	}
	return undefined;
}

test('findCycle finds a cycle through type imports as well as none where there is none', () => {
	assert.deepEqual(
		findCycle(
			new Map([
				['a', ['b']],
				['b', ['c']],
				['c', ['a']],
			]),
		),
		['a', 'b', 'c', 'a'],
	);
	assert.equal(
		findCycle(
			new Map([
				['a', ['b', 'c']],
				['b', ['c']],
				['c', []],
			]),
		),
		undefined,
	);
});

test('every lib/ file is in a layer folder and imports only its own layer and the layers below it, never n8n', () => {
	const problems: string[] = [];
	for (const [path, targets] of importGraph()) {
		const layer = layerOf(path);
		const rank = LAYERS.indexOf(layer as (typeof LAYERS)[number]);
		if (rank < 0) problems.push(`${relative(REPO, path)} is not in a layer folder (${LAYERS.join(', ')})`);
		for (const target of targets) {
			if (!target.startsWith(LIB))
				problems.push(`${relative(REPO, path)} imports ${relative(REPO, target)}, outside lib/`);
			else if (LAYERS.indexOf(layerOf(target) as (typeof LAYERS)[number]) > rank)
				problems.push(
					`${relative(REPO, path)} (${layer}) imports ${relative(REPO, target)} (${layerOf(target)}), a layer above it`,
				);
		}
		for (const spec of specifiers(parse(path)))
			if (/^n8n-/.test(spec)) problems.push(`${relative(REPO, path)} imports ${spec}: the core knows nothing of n8n`);
	}
	assert.deepEqual(problems, []);
});

test('the import graph of lib/ has no cycle', () => {
	const cycle = findCycle(importGraph());
	assert.equal(cycle, undefined, `cycle: ${cycle?.map((path) => relative(REPO, path)).join(' → ')}`);
});

test(`no lib/ file is longer than ${MAX_FILE_LINES} lines, no function longer than ${MAX_FUNCTION_LINES}`, () => {
	const problems: string[] = [];
	for (const path of sources(LIB)) {
		const file = parse(path);
		const lines = file.getLineAndCharacterOfPosition(file.getEnd()).line;
		if (lines > MAX_FILE_LINES) problems.push(`${relative(REPO, path)}: ${lines} lines`);
		const visit = (node: ts.Node): void => {
			if (ts.isFunctionLike(node) && 'body' in node && node.body) {
				const length =
					file.getLineAndCharacterOfPosition(node.getEnd()).line -
					file.getLineAndCharacterOfPosition(node.getStart()).line +
					1;
				const name = 'name' in node && node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
				if (length > MAX_FUNCTION_LINES) problems.push(`${relative(REPO, path)}: ${name} has ${length} lines`);
			}
			ts.forEachChild(node, visit);
		};
		visit(file);
	}
	assert.deepEqual(problems, []);
});
