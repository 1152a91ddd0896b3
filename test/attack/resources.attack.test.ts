/**
 * Attack suite, the machine and odd input: DuckDB's threads and memory are bounded by the machine (100,000 threads
 * once made 30,557 threads and a load of 6,400), and paths that cannot be what they say (bytes that are not UTF-8,
 * names longer than the file system takes) are usage errors with a message, never another file or a stack trace.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { runSqlScript } from '../../lib/operations/supervise-worker';
import { UsageError } from '../../lib/base/errors';
import { BIN, runCli } from '../helpers/cli';
import { stopAll, tempDir } from '../helpers/processes';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `r${++n}.duckdb`);
afterEach(() => stopAll());
after(() => dir.remove());

test('finding 8: more DuckDB threads than the machine has cores is a usage error (CLI 125), nothing is started', async () => {
	const db = freshDb();
	const script = join(dir.path, 'one.sql');
	writeFileSync(script, 'SELECT 1');
	const result = await runCli('duckdb-safe-ingest', ['--db', db, '--sql', script, '--threads', '100000']);
	assert.equal(result.code, 125, result.stderr);
	assert.match(result.stderr, new RegExp(`at most ${availableParallelism()}`));
	assert.equal(existsSync(db), false);
	await assert.rejects(
		runSqlScript({ databasePath: db, sql: 'SELECT 1', threads: availableParallelism() + 1 }, {}),
		UsageError,
	);
	const fits = await runSqlScript(
		{
			databasePath: db,
			sql: "SELECT current_setting('threads') AS t",
			threads: availableParallelism(),
			returnRows: true,
		},
		{},
	);
	assert.equal(fits.status, 'success', fits.summary);
	assert.deepEqual(fits.sql?.rows, [{ t: availableParallelism() }]);
});

test("finding 8: a memory limit above the machine's memory is a usage error; one within it is applied", async () => {
	const db = freshDb();
	const terabytes = `${Math.ceil(totalmem() / 1024 ** 4) + 1}TB`;
	await assert.rejects(
		runSqlScript({ databasePath: db, sql: 'SELECT 1', memoryLimit: terabytes }, {}),
		(error: Error) => error instanceof UsageError && /more than this machine has/.test(error.message),
	);
	const fits = await runSqlScript(
		{ databasePath: db, sql: "SELECT current_setting('memory_limit') AS m", memoryLimit: '256MB', returnRows: true },
		{},
	);
	assert.equal(fits.status, 'success', fits.summary);
	assert.match(String(fits.sql?.rows?.[0]?.m), /^2\d\d\.\d MiB$/);
});

test('held: a script cannot raise the threads itself (the configuration is locked)', async () => {
	for (const sql of ['SET threads = 100000', 'PRAGMA threads = 100000', 'SET GLOBAL threads TO 100000']) {
		const outcome = await runSqlScript({ databasePath: freshDb(), sql, threads: 1 }, { timeoutMs: 60_000 });
		assert.equal(outcome.status, 'failed', `${sql}: ${outcome.summary}`);
	}
});

test('minor: a database path with bytes that are not UTF-8 is a usage error, not a lock on another file', () => {
	// Node turns such bytes into U+FFFD: the lock would guard a file with another name than the job opens.
	const result = spawnSync(
		'sh',
		[
			'-c',
			`exec "$0" "$1" --db "$(printf '${dir.path}/\\377x.duckdb')" -- true`,
			process.execPath,
			join(BIN, 'duckdb-safe-ingest.js'),
		],
		{ encoding: 'utf8' },
	);
	assert.equal(result.status, 125, result.stderr);
	assert.match(result.stderr, /not valid UTF-8/);
	assert.deepEqual(
		readdirSync(dir.path).filter((name) => name.endsWith('.pid')),
		[],
	);
});

test('minor: a 5,000-character database name is a usage error naming the limit, not an internal error', async () => {
	for (const tool of ['duckdb-safe-ingest', 'duckdb-lock-cleanup']) {
		const result = await runCli(
			tool,
			tool === 'duckdb-safe-ingest'
				? ['--db', join(dir.path, `${'d'.repeat(5000)}.duckdb`), '--', 'true']
				: ['--db', join(dir.path, `${'d'.repeat(5000)}.duckdb`)],
		);
		assert.equal(result.code, 125, result.stderr);
		assert.match(result.stderr, /too long/);
		assert.doesNotMatch(result.stderr, /internal error|\n\s+at /);
	}
});
