/**
 * Holders, the WAL and cleanup with real processes and real DuckDB files: foreign writers and readers, orphaned
 * jobs, TERM-ignoring holders, a WAL left by kill -9, reused PIDs, and the refusal to stop without --yes.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { findDatabaseHolders } from '../../lib/duckdb/database-holders';
import { runUnderLock } from '../../lib/run/supervise';
import { parsePidFile, serializeRecord } from '../../lib/lock/pid-file-format';
import { bootId, hostName, readProcess } from '../../lib/proc/identity';
import { findWalFiles } from '../../lib/base/wal-files';
import { cleanupDatabase } from '../../lib/cleanup/cleanup';
import { runCli, startCli } from '../helpers/cli';
import { fixture, nodeChild, stopAll, tempDir, sleep, type JsonChild } from '../helpers/processes';
import { type CleanupReport } from '../../lib/outcome/cleanup-report';
import { createDatabase } from '../helpers/aggtrades';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `clean${++n}.duckdb`);
afterEach(() => stopAll());
after(() => dir.remove());

async function holder(db: string, mode: 'write' | 'read' | 'crash-with-wal', extra: object = {}): Promise<JsonChild> {
	const child = nodeChild('duckdb-holder', [JSON.stringify({ db, mode, ...extra })]);
	await child.next('ready', 60_000);
	return child;
}

/** A database with a table in it (so that it exists and has something to lose). */
const withTable = (db: string): Promise<void> =>
	createDatabase(db, 'CREATE TABLE t AS SELECT range AS i FROM range(10)');

async function count(db: string, sql: string): Promise<number> {
	const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
	const connection = await instance.connect();
	const rows = (await connection.runAndReadAll(sql)).getRows();
	connection.closeSync();
	instance.closeSync();
	return Number(rows[0][0]);
}

const cleanup = (args: string[]) => runCli<CleanupReport>('duckdb-lock-cleanup', [...args, '--json']);

test('a foreign read-write holder is found with its PID, and Safe Ingest is blocked by it with no PID file', async () => {
	const db = freshDb();
	const writer = await holder(db, 'write');
	const holders = await findDatabaseHolders(db);
	assert.equal(holders[0].pid, writer.pid);
	assert.equal(holders[0].lock, 'write');
	assert.equal(holders[0].ppid, process.pid);
	assert.equal(existsSync(`${db}.pid`), false);

	const outcome = await runUnderLock({ databasePath: db, command: ['sh', '-c', 'echo must-not-run'] });
	assert.equal(outcome.status, 'blocked');
	assert.equal(outcome.holder?.pid, writer.pid);
	assert.equal(outcome.holder?.source, 'duckdb-file-lock');
	assert.equal(outcome.jobPid, null);
	assert.equal(existsSync(`${db}.pid`), false, 'our lock was released again');
	assert.match(outcome.summary, new RegExp(`held by PID ${writer.pid}`));

	const report = await cleanup(['--db', db]);
	assert.equal(report.code, 1, 'a live holder remains');
	assert.equal(report.json?.state, 'held');
	assert.ok(readProcess(writer.pid), 'not stopped without being asked');
});

test('a read-only holder is found as a reader', async () => {
	const db = freshDb();
	await withTable(db);
	const reader = await holder(db, 'read');
	const holders = await findDatabaseHolders(db);
	assert.equal(holders.find((entry) => entry.pid === reader.pid)?.lock, 'read');
	const blocked = await runUnderLock({ databasePath: db, command: ['true'] });
	assert.equal(blocked.status, 'blocked', 'a reader stops a writer, so the run is blocked');
});

test('an orphaned job (supervisor SIGKILLed) is found and stopped by --stop-stuck 0s --yes; its stale PID file is removed', async () => {
	const db = freshDb();
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--',
		process.execPath,
		fixture('duckdb-holder'),
		JSON.stringify({ db, mode: 'write' }),
	]);
	let jobPid = 0;
	for (let i = 0; i < 500 && !jobPid; i++) {
		await sleep(20);
		const parsed = existsSync(`${db}.pid`) ? parsePidFile(readFileSync(`${db}.pid`, 'utf8')) : undefined;
		// Wait for the relayed ready line too: killed before it, the job's one write would meet a closed pipe (EPIPE) and end it.
		const ready = run.stdout().includes('"event":"ready"');
		if (
			ready &&
			parsed?.kind === 'record' &&
			parsed.record.role === 'job' &&
			(await findDatabaseHolders(db)).some((entry) => entry.pid === parsed.record.pid)
		)
			jobPid = parsed.record.pid;
	}
	assert.ok(jobPid, 'the job holds the database');
	run.child.kill('SIGKILL');
	await run.result;
	assert.ok(readProcess(jobPid), 'orphan alive');

	const inspected = await cleanup(['--db', db]);
	assert.equal(inspected.json?.state, 'held');
	const found = inspected.json?.holders.find((entry) => entry.pid === jobPid);
	assert.equal(found?.ours, true, 'recognised as our job');

	const result = await cleanup(['--db', db, '--stop-stuck', '0s', '--yes', '--grace', '5s']);
	assert.equal(result.code, 0, result.stderr);
	assert.equal(result.json?.state, 'recovered');
	assert.ok(result.json?.actions.some((action) => action.action === 'stop-holder' && action.done));
	assert.ok(result.json?.actions.some((action) => action.action === 'remove-stale-pid-file' && action.done));
	assert.ok(
		[undefined, 'Z'].includes(readProcess(jobPid)?.state),
		'the orphan is gone (or a zombie waiting for init to reap it)',
	);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('a TERM-ignoring holder gets SIGKILL after the grace (--stop-all-holders --yes)', async () => {
	const db = freshDb();
	const stubborn = await holder(db, 'write', { ignoreTerm: true });
	const result = await cleanup(['--db', db, '--stop-all-holders', '--yes', '--grace', '500ms']);
	assert.equal(result.code, 0, result.stderr);
	const action = result.json?.actions.find((entry) => entry.action === 'stop-holder');
	assert.ok(action?.done);
	assert.match(action?.detail ?? '', /SIGKILL after the grace period/);
	await stubborn.exited;
	assert.equal(stubborn.child.signalCode, 'SIGKILL');
});

test('without a terminal and without --yes nothing is stopped', async () => {
	const db = freshDb();
	const writer = await holder(db, 'write');
	const result = await cleanup(['--db', db, '--stop-all-holders']);
	assert.equal(result.code, 1);
	assert.match(result.stderr, /would stop process \d+ .*rerun with --yes/);
	assert.ok(result.json?.actions.every((action) => !action.done));
	assert.ok(readProcess(writer.pid), 'still running');
});

test('a mistyped database path is a usage error (125) naming it, never a clean report; nothing is created', async () => {
	const missingFolder = await cleanup(['--db', join(dir.path, 'no-such-folder', 'x.duckdb'), '--inspect-only']);
	assert.equal(missingFolder.code, 125);
	assert.match(missingFolder.stderr, /The database folder .*no-such-folder does not exist/);
	const typo = join(dir.path, 'typo.duckdb');
	const missingFile = await cleanup(['--db', typo]);
	assert.equal(missingFile.code, 125);
	assert.match(missingFile.stderr, /There is no database .*typo\.duckdb \(no file, no lock file, no WAL\)/);
	assert.equal(missingFile.json, undefined, 'no report');
	assert.deepEqual(
		[typo, `${typo}.pid`].filter((path) => existsSync(path)),
		[],
	);
});

test('a stuck recovery claim is named in the report, and nothing is removed behind it', async () => {
	const db = freshDb();
	await withTable(db);
	const dead = spawnSync('true').pid!;
	writeFileSync(
		`${db}.pid`,
		serializeRecord({
			pid: dead,
			role: 'job',
			pidStart: 1,
			command: 'python3 crashed.py',
			host: hostName(),
			bootId: bootId(),
			pidNamespace: '',
			lockedAt: new Date(0).toISOString(),
			owner: 'crashed',
			supervisor: { pid: dead, startTicks: 1, command: 'n8n' },
			token: 'x',
		}),
	);
	writeFileSync(`${db}.pid.recover`, '');
	const result = await cleanup(['--db', db]);
	assert.match(
		result.json?.remaining.join('\n') ?? '',
		/\.pid is stale .* but the recovery claim .*\.pid\.recover blocks its removal; .* remove it by hand/,
		result.stderr,
	);
	assert.ok(existsSync(`${db}.pid`) && existsSync(`${db}.pid.recover`), 'both left for a person to inspect');
});

test('a canceled cleanup stops nobody and says so', async () => {
	const db = freshDb();
	const writer = await holder(db, 'write');
	const report = await cleanupDatabase(db, {
		removeStale: true,
		stopAllHolders: true,
		graceMs: 100,
		signal: AbortSignal.abort(),
	});
	const stop = report.actions.find((action) => action.action === 'stop-holder');
	assert.equal(stop?.done, false);
	assert.match(stop?.detail ?? '', /not done: the cleanup was canceled: process \d+ .* left running/);
	assert.equal(report.state, 'held');
	assert.ok(readProcess(writer.pid), 'the holder still runs');
});

test('a WAL left by kill -9 is untouched without --recover-wal, and recovered with it: committed rows kept, uncommitted gone', async () => {
	const db = freshDb();
	const writer = await holder(db, 'crash-with-wal', { committed: 500, uncommitted: 100 });
	writer.child.kill('SIGKILL');
	await writer.exited;
	const wal = findWalFiles(db);
	assert.ok(wal.present && wal.totalBytes > 0, 'a WAL is left behind');
	const walBytes = readFileSync(`${db}.wal`);

	const inspected = await cleanup(['--db', db]);
	assert.equal(inspected.json?.wal.status, 'left-by-crash');
	assert.deepEqual(readFileSync(`${db}.wal`), walBytes, 'without --recover-wal the WAL is untouched');

	// A database file moved away while its WAL stayed: opening the path would make DuckDB discard the WAL.
	renameSync(db, `${db}.moved`);
	const refused = await cleanup(['--db', db, '--recover-wal']);
	assert.ok(
		refused.json?.actions.some(
			(action) => action.action === 'recover-wal' && !action.done && /missing or empty/.test(action.detail),
		),
	);
	assert.deepEqual(readFileSync(`${db}.wal`), walBytes, 'the WAL is untouched when its database is missing');
	const runRefused = await runCli('duckdb-safe-ingest', ['--db', db, '--', 'true']);
	assert.equal(runRefused.code, 125, 'no job may open a database whose file is missing next to its WAL');
	assert.deepEqual(readFileSync(`${db}.wal`), walBytes);
	renameSync(`${db}.moved`, db);

	const recovered = await cleanup(['--db', db, '--recover-wal']);
	assert.equal(recovered.code, 0, recovered.stderr);
	assert.equal(recovered.json?.state, 'recovered');
	assert.equal(recovered.json?.walRecovery?.ok, true);
	assert.equal(findWalFiles(db).present, false, 'the WAL was checkpointed into the database');
	assert.equal(await count(db, 'SELECT count(*) FROM trades'), 500, 'every committed row, and no uncommitted one');
	assert.equal(await count(db, 'SELECT count(*) FROM trades WHERE price < 0'), 0);
});

test('a PID file naming a reused PID (fresh PID namespace) is removed as stale; the live process is not signalled', async () => {
	const db = freshDb();
	// PID 1 of a fresh namespace is alive, but started long after the (fictional) holder recorded here.
	const unrelated = nodeChild('lock-actor', [], ['unshare', '--pid', '--fork', '--mount-proc']);
	await unrelated.next('ready');
	const unrelatedPid = unrelated.child.pid!;
	writeFileSync(
		`${db}.pid`,
		serializeRecord({
			pid: unrelatedPid,
			role: 'job',
			pidStart: 1,
			pgid: unrelatedPid,
			command: 'python3 ingest.py',
			host: hostName(),
			bootId: bootId(),
			pidNamespace: '',
			lockedAt: new Date(0).toISOString(),
			owner: 'before the restart',
			supervisor: { pid: unrelatedPid, startTicks: 1, command: 'n8n' },
			token: 'old',
		}),
	);
	const result = await cleanup(['--db', db, '--stop-stuck', '0s', '--yes']);
	assert.equal(result.code, 0, result.stderr);
	assert.ok(
		result.json?.actions.some(
			(action) => action.action === 'remove-stale-pid-file' && action.done && /reused/.test(action.detail),
		),
	);
	assert.ok(!result.json?.actions.some((action) => action.action === 'stop-holder'), 'nothing was stopped');
	assert.ok(readProcess(unrelatedPid), 'the unrelated process lives');
	assert.equal(unrelated.child.exitCode, null);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('a bad After hook given to the cleanup itself (as the Lock Cleanup node does) is a clear usage error before anything is looked at', async () => {
	const db = freshDb();
	await withTable(db);
	const pidFile = `${db}.pid`;
	writeFileSync(pidFile, '999999\n');
	const bad = { kind: 'request' as const, url: 'http://127.0.0.1:1/refresh', headers: { 'Bad Name': 'x' } };
	await assert.rejects(cleanupDatabase(db, { removeStale: true, after: bad }), (error: Error) => {
		assert.equal(error.name, 'UsageError');
		assert.match(error.message, /header name "Bad Name" is not valid/i);
		return true;
	});
	assert.equal(readFileSync(pidFile, 'utf8'), '999999\n', 'nothing was removed');
});
