/**
 * Run SQL attack tests: a workspace with a real database, files a script must not change, and checks that nothing
 * was written (sha256 of every file in a folder tree) and that the database still opens and reads through the product.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { runSqlScript } from '../../lib/operations/supervise-worker';
import type { SqlSpec } from '../../lib/operations/spec';
import type { Outcome } from '../../lib/outcome/outcome';

export interface SqlWorkspace {
	db: string;
	/** The database's folder: allowed. */
	root: string;
	/** A folder next to it that is not allowed. */
	outside: string;
	/** Existing files in the allowed folder that no script may change (a profile and an ingest source). */
	json: string;
	csv: string;
	/** A file outside the allowed folders that no script may read. */
	secret: string;
}

export function sql(spec: SqlSpec, timeoutMs?: number): Promise<Outcome> {
	return runSqlScript(spec, { timeoutMs, graceMs: timeoutMs ? Math.min(timeoutMs, 10_000) : 10_000 });
}

/** A database with table `kept` (2 rows), existing files next to it and a secret outside. */
export async function sqlWorkspace(base: string, name: string): Promise<SqlWorkspace> {
	const root = join(base, name);
	const outside = join(base, `${name}-outside`);
	mkdirSync(root, { recursive: true });
	mkdirSync(outside, { recursive: true });
	const ws: SqlWorkspace = {
		db: join(root, 'market.duckdb'),
		root,
		outside,
		json: join(root, 'existing.json'),
		csv: join(root, 'existing.csv'),
		secret: join(outside, 'secret.txt'),
	};
	writeFileSync(ws.json, '{"report":"made by someone else"}\n');
	writeFileSync(ws.csv, 'symbol,price\nBTCUSDT,1\nETHUSDT,2\n');
	writeFileSync(ws.secret, 'password=hunter2\n');
	const seeded = await sql({
		databasePath: ws.db,
		sql: 'CREATE TABLE kept (i INTEGER); INSERT INTO kept VALUES (1), (2)',
	});
	assert.equal(seeded.status, 'success', seeded.summary);
	return ws;
}

export function fingerprint(path: string): string {
	return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every file and folder under `folder` (relative path → sha256, or 'folder'); {} when it does not exist. */
export function snapshot(folder: string): Record<string, string> {
	const entries: Record<string, string> = {};
	if (!existsSync(folder)) return entries;
	const walk = (dir: string): void => {
		for (const name of readdirSync(dir).sort()) {
			const path = join(dir, name);
			if (statSync(path).isDirectory()) {
				entries[relative(folder, path)] = 'folder';
				walk(path);
			} else entries[relative(folder, path)] = fingerprint(path);
		}
	};
	walk(folder);
	return entries;
}

/** DuckDB's own folder (extensions, persistent secrets) of the user the workers run as. */
export const DUCKDB_HOME = join(homedir(), '.duckdb');

/** The database opens read-write through Run SQL and still holds exactly the seeded rows. */
export async function assertDatabaseReads(ws: SqlWorkspace, label: string): Promise<void> {
	const read = await sql({ databasePath: ws.db, sql: 'SELECT count(*) AS n FROM kept', returnRows: true });
	assert.equal(read.status, 'success', `${label}: the database opens afterwards: ${read.summary}`);
	assert.deepEqual(read.sql?.rows, [{ n: 2 }], `${label}: the script was rolled back`);
}

export interface Refusal {
	statement: number;
	/** The error, DuckDB's or Run SQL's. */
	message: RegExp;
	/** Folders to compare besides the workspace's two (e.g. DUCKDB_HOME). */
	alsoUnchanged?: string[];
}

/**
 * Runs an attack script and asserts the refusal: failed at the given statement with the given message, nothing
 * written in the workspace's folders (nor in `alsoUnchanged`), and the database opens and reads afterwards.
 */
export async function assertRefused(ws: SqlWorkspace, script: string, expected: Refusal): Promise<Outcome> {
	const folders = [ws.root, ws.outside, ...(expected.alsoUnchanged ?? [])];
	const before = folders.map(snapshot);
	const outcome = await sql({ databasePath: ws.db, sql: script, returnRows: true });
	assert.equal(outcome.status, 'failed', `${script}: ${outcome.summary}`);
	assert.equal(outcome.sql?.failedStatement, expected.statement, `${script}: ${outcome.sql?.error}`);
	assert.match(outcome.sql?.error ?? '', expected.message, script);
	assert.match(
		outcome.summary,
		new RegExp(`^Failed: statement ${expected.statement}: .*rolled back, nothing changed`),
		script,
	);
	assert.equal(outcome.sql?.rowsChanged, 0, script);
	assert.equal(outcome.sql?.rows, undefined, `${script}: no rows come back from a refused script`);
	folders.forEach((folder, index) =>
		assert.deepEqual(snapshot(folder), before[index], `${script}: nothing written in ${folder}`),
	);
	await assertDatabaseReads(ws, script);
	return outcome;
}
