/**
 * The attack suite's bench: the DuckDB Safe Ingest node inside n8n 2.x's real execution engine, run with the admin's
 * variables set around one run (like test/helpers/node-suite.ts does), plus the real files an attack needs
 * (BusyBox applet links, scripts, markers) under one temporary root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { ALLOWLIST_ENV } from '../../lib/proc/allowlist';
import { loadEngine, type EngineRun } from './engine';
import { CLEANUP, connect, ingestNode } from './workflow';

/** Written as a literal so that this suite compiles against the code from before the variable existed. */
export const ALLOWED_ENV_VARIABLE = 'DUCKDB_SAFE_INGEST_ALLOWED_ENV';
export const BUSYBOX = '/usr/bin/busybox';

/** What the admin set in the n8n process's environment for one run (absent: unset). */
export interface Admin {
	commands?: string[];
	env?: string;
	/** Other variables of the n8n process for this run (e.g. its own secrets, or a PATH). */
	process?: Record<string, string>;
}

export interface Attempt {
	parameters: IDataObject;
	items?: IDataObject[];
	/** Job Secrets credential fields (name1, value1, ...): attached to the node when given. */
	secrets?: IDataObject;
	/** Run the DuckDB Lock Cleanup node with these parameters instead (its Database Path is set). */
	cleanup?: IDataObject;
}

export function attackBench() {
	const root = mkdtempSync(join(tmpdir(), 'attack-'));
	process.env.N8N_RESTRICT_FILE_ACCESS_TO = root;
	const userFolder = mkdtempSync(join(tmpdir(), 'attack-n8n-user-'));
	process.env.N8N_USER_FOLDER = userFolder;
	const engine = loadEngine('v2');
	let n = 0;

	/** A new empty folder under the root. */
	const folder = (name: string): string => {
		const path = join(root, `${name}-${++n}`);
		mkdirSync(path);
		return path;
	};

	/** Runs the node once with the admin's variables set, restoring the process environment afterwards. */
	async function run(admin: Admin, attempt: Attempt): Promise<EngineRun> {
		const names = [ALLOWLIST_ENV, ALLOWED_ENV_VARIABLE, ...Object.keys(admin.process ?? {})];
		const saved = new Map(names.map((name) => [name, process.env[name]]));
		const set = (name: string, value: string | undefined): void => {
			if (value === undefined) delete process.env[name];
			else process.env[name] = value;
		};
		set(ALLOWLIST_ENV, admin.commands?.join(':'));
		set(ALLOWED_ENV_VARIABLE, admin.env);
		for (const [name, value] of Object.entries(admin.process ?? {})) set(name, value);
		try {
			const credentials = attempt.secrets ? { credentials: { duckDbJobSecretsApi: { id: '1', name: 'secrets' } } } : {};
			const databasePath = join(root, `db${++n}.duckdb`);
			const node = attempt.cleanup
				? { name: 'Ingest', type: CLEANUP, parameters: { databasePath, ...attempt.cleanup } }
				: ingestNode({ databasePath, ...attempt.parameters }, credentials);
			return await engine.run({
				items: attempt.items,
				nodes: [node],
				connections: connect('Start', 'Ingest'),
				credentials: attempt.secrets ? { duckDbJobSecretsApi: attempt.secrets } : undefined,
			});
		} finally {
			for (const [name, value] of saved) set(name, value);
		}
	}

	const remove = (): void => {
		for (const path of [root, userFolder]) rmSync(path, { recursive: true, force: true });
	};
	return { root, folder, run, remove };
}

/** What a run did, in one line, for assertion messages. */
export function describeRun(run: EngineRun): string {
	const item = run.outputs('Ingest').flat()[0]?.json;
	return run.error ? `error: ${run.error.message}` : `${run.status}: ${String(item?.summary ?? JSON.stringify(item))}`;
}

/** The node refused to run the job: the execution failed with a message matching every pattern. */
export function assertRefused(run: EngineRun, ...patterns: RegExp[]): void {
	assert.equal(run.status, 'error', `expected a refusal, got ${describeRun(run)}`);
	for (const pattern of patterns) assert.match(run.error?.message ?? '', pattern);
}

/** The stdout tail of each Success item. */
export function stdoutOf(run: EngineRun): string[] {
	const items = run.outputs('Ingest')[0] ?? [];
	assert.ok(items.length, `expected a success, got ${describeRun(run)}`);
	return items.map((entry) => String((entry.json.output as { stdout: { tail: string } }).stdout.tail));
}

export function link(target: string, path: string): string {
	symlinkSync(target, path);
	return path;
}

export function script(path: string, text: string): string {
	writeFileSync(path, text);
	chmodSync(path, 0o755);
	return path;
}

/**
 * The control half of an environment attack: run directly (not through the node), the attack really works on this
 * machine (the marker appears), so the node's refusal is what keeps the marker away. The marker is removed again.
 */
export function assertVectorWorks(
	marker: string,
	file: string,
	args: string[],
	env: Record<string, string>,
	cwd?: string,
): void {
	execFileSync(file, args, { env: { ...process.env, ...env }, cwd, stdio: 'ignore' });
	assert.ok(
		existsSync(marker),
		`the attack itself works here: ${file} with ${Object.keys(env).join(', ')} wrote ${marker}`,
	);
	rmSync(marker);
}
