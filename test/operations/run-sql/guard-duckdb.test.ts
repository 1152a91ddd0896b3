/**
 * The guard checked against DuckDB itself (in this process, an in-memory database, nothing written): its list of
 * read-only functions names real functions and leaves the writers out; and on thousands of generated scripts full of
 * quoting and comment tricks, wherever DuckDB's parser sees a function call, the tokenizer sees it too, with the same
 * statement count, or the guard refuses the script as not checkable. Never fewer calls than DuckDB.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { builtinTableFunctions } from '../../../lib/operations/run-sql/script';
import { READ_ONLY_FUNCTIONS } from '../../../lib/operations/run-sql/functions';
import { splitStatements, UncheckableSql } from '../../../lib/operations/run-sql/lexer';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
before(async () => {
	instance = await DuckDBInstance.create(':memory:');
	connection = await instance.connect();
});
after(() => {
	connection.closeSync();
	instance.closeSync();
});

test('the read-only list names only built-in functions of this DuckDB, and none of those that write files or run SQL', async () => {
	const builtins = await builtinTableFunctions(connection);
	const unknown = [...READ_ONLY_FUNCTIONS].filter((name) => !builtins.has(name));
	assert.deepEqual(unknown, [], 'a name on the list that DuckDB does not have is a typo or a rename');
	const writers = [
		'enable_profiling',
		'disable_profiling',
		'enable_logging',
		'disable_logging',
		'truncate_duckdb_logs',
		'query',
		'query_table',
		'json_execute_serialized_sql',
		'import_database',
		'copy_database',
		'checkpoint',
		'force_checkpoint',
		'read_duckdb',
		'arrow_scan',
		'add_parquet_key',
		'which_secret',
		'duckdb_secrets',
		'duckdb_logs',
		'duckdb_logs_parsed',
		'duckdb_log_contexts',
		'test_all_types',
		'verify_external',
		'enable_peg_parser',
		'disable_checkpoint_on_shutdown',
	];
	for (const name of writers) {
		assert.ok(builtins.has(name), `${name} is a built-in table or pragma function of this DuckDB`);
		assert.ok(!READ_ONLY_FUNCTIONS.has(name), `${name} is refused`);
	}
});

/** A small deterministic generator (mulberry32), so that a failure is the same on every run. */
function random(seed: number): () => number {
	let state = seed;
	return () => {
		state = (state + 0x6d2b79f5) | 0;
		let value = Math.imul(state ^ (state >>> 15), 1 | state);
		value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
		return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
	};
}

const SEPARATORS = [
	' ',
	'\n',
	'\r',
	'\t',
	'\f',
	'\u00a0',
	'\u3000',
	'\ufeff',
	'/* c */',
	'/**/',
	'/*/ c */',
	"/* ' */",
	'/* " */',
	'/* -- */',
	'/* /* */ */',
	'-- c\n',
	'-- c\r',
	"-- '\n",
	'--"\r\n',
	'/* $$ */',
	'\u00a0/*\u00a0*/',
];
const NAMES = [
	'f',
	'G',
	'"h"',
	'"Enable_Profiling"',
	'main.f',
	'"main"."g"',
	'enable_profiling',
	'ENABLE_PROFILING',
	'x_1',
	'é',
	'e',
	'u',
	'b',
	'n',
	'x',
];
const LITERALS = [
	"'a'",
	"''",
	"'a''b'",
	"';'",
	"'--'",
	"'/*'",
	"'('",
	"'f('",
	'1',
	'1.5e3',
	'1e',
	"E'x'",
	"E'\\''",
	"e'\\\\'",
	'$$x$$',
	'$$;$$',
	"$t$'$t$",
	"B'01'",
	"X'ff'",
	"N'x'",
	"'a'\n'b'",
	'"col"',
	"U&'x'",
	'"a""b"',
	"'\u00a0'",
];

function generate(next: () => number): string {
	const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
	const sep = (): string => (next() < 0.5 ? ' ' : pick(SEPARATORS));
	const expression = (depth: number): string => {
		const roll = next();
		if (roll < 0.35) return pick(LITERALS);
		if (roll < 0.55 || depth > 2) return pick(NAMES);
		const args = Array.from({ length: Math.floor(next() * 3) }, () => expression(depth + 1)).join(`${sep()},${sep()}`);
		return `${pick(NAMES)}${sep()}(${sep()}${args}${sep()})`;
	};
	const select = (): string => {
		const list = Array.from({ length: 1 + Math.floor(next() * 3) }, () => expression(0)).join(`${sep()},${sep()}`);
		const from =
			next() < 0.4
				? `${sep()}FROM${sep()}${pick(NAMES)}${sep()}(${sep()}${next() < 0.5 ? pick(LITERALS) : ''}${sep()})`
				: '';
		return `SELECT${sep()}${list}${from}`;
	};
	return Array.from({ length: 1 + Math.floor(next() * 2) }, select).join(`${sep()};${sep()}`);
}

/** Every function DuckDB's parser found (table functions included), lower-cased. */
async function duckdbCalls(sql: string): Promise<{ statements: number; calls: Set<string> } | undefined> {
	const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR) AS tree', [sql]);
	const tree = JSON.parse(String(reader.getRowObjectsJS()[0].tree)) as { error: boolean; statements?: unknown[] };
	if (tree.error) return undefined;
	const calls = new Set<string>();
	const walk = (node: unknown): void => {
		if (Array.isArray(node)) node.forEach(walk);
		else if (node && typeof node === 'object') {
			for (const [key, value] of Object.entries(node)) {
				if (key === 'function_name' && typeof value === 'string') calls.add(value.toLowerCase());
				else walk(value);
			}
		}
	};
	walk(tree.statements);
	return { statements: tree.statements?.length ?? 0, calls };
}

/**
 * Where DuckDB keeps a Unicode space (its space stripping took a quote or $$ inside a comment for the start of a
 * string), the space is part of a name there and splits it here. No built-in function has such a name, so a call
 * DuckDB sees as "a\u00a0b(" must be one to "b(" here.
 */
const lastPart = (name: string): string =>
	name
		.split(/[\u00a0\u2000-\u200b\u202f\u205f\u2060\u3000\ufeff]/)
		.filter(Boolean)
		.pop() ?? name;

function guardCalls(sql: string): { statements: number; calls: Set<string> } | 'uncheckable' {
	try {
		const statements = splitStatements(sql);
		const calls = new Set<string>();
		for (const tokens of statements) {
			tokens.forEach((token, at) => {
				if (
					(token.kind === 'word' || token.kind === 'quoted') &&
					tokens[at + 1]?.value === '(' &&
					tokens[at + 1].kind === 'punct'
				)
					calls.add(token.value);
			});
		}
		return { statements: statements.length, calls };
	} catch (error) {
		assert.ok(error instanceof UncheckableSql, `only a refusal, not a crash: ${String(error)}`);
		return 'uncheckable';
	}
}

test("on 4000 generated scripts with quoting and comment tricks, the tokenizer sees every call DuckDB's parser sees, or refuses the script", async () => {
	const next = random(20260806);
	const seen = { parsed: 0, refused: 0, calls: 0 };
	for (let run = 0; run < 4000; run++) {
		const sql = generate(next);
		const duckdb = await duckdbCalls(sql);
		if (!duckdb) continue;
		seen.parsed++;
		const guard = guardCalls(sql);
		if (guard === 'uncheckable') {
			seen.refused++;
			continue;
		}
		assert.equal(guard.statements, duckdb.statements, `statements of ${JSON.stringify(sql)}`);
		const missed = [...duckdb.calls].map(lastPart).filter((name) => !guard.calls.has(name));
		assert.deepEqual(missed, [], `calls DuckDB sees in ${JSON.stringify(sql)}`);
		seen.calls += duckdb.calls.size;
	}
	// The generator must reach both sides, or this test proves nothing.
	assert.ok(seen.parsed > 800 && seen.refused > 100 && seen.calls > 800, JSON.stringify(seen));
});
