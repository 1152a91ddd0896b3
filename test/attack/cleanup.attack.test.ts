/**
 * Attack suite, the cleanup: whoever can write a file in the database folder (n8n's Write File node can write into
 * ~/.n8n-files) must not be able to make the cleanup signal an unrelated process; a cleanup never says Clean while
 * runs are blocked; a cleanup stopped half-way leaves no lock of its own behind. Real processes, real files.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePidFile, serializeRecord, type LockRecord } from '../../lib/lock/pid-file-format';
import { bootId, hostName, pidNamespace, readProcess } from '../../lib/proc/identity';

import { judgeProof } from '../../lib/cleanup/stop-holder';
import { runCli, startCli } from '../helpers/cli';
import { sleep, stopAll, tempDir, track } from '../helpers/processes';
import { type CleanupReport } from '../../lib/outcome/cleanup-report';
import { createDatabase } from '../helpers/aggtrades';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `c${++n}.duckdb`);
afterEach(() => stopAll());
after(() => dir.remove());

/** A database with a table in it (so that it exists and has something to lose). */
const withTable = (db: string): Promise<void> => createDatabase(db, 'CREATE TABLE t AS SELECT 1 AS i');

/** A process that is none of ours: its own group (like any daemon), started by this test so that it may be signalled. */
function victim(): { pid: number; startTicks: number; alive(): boolean } {
	const child = track(spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }));
	const facts = readProcess(child.pid!)!;
	return {
		pid: child.pid!,
		startTicks: facts.startTicks,
		alive: () => readProcess(child.pid!)?.startTicks === facts.startTicks && readProcess(child.pid!)?.state !== 'Z',
	};
}

/** What someone who can only write files can forge: every fact in it is readable from /proc by anyone. */
function forgedJobRecord(target: { pid: number; startTicks: number }, token = 'forged-token'): LockRecord {
	return {
		pid: target.pid,
		role: 'job',
		pidStart: target.startTicks,
		pgid: target.pid,
		command: 'python3 ingest.py --symbol BTCUSDT',
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		lockedAt: new Date(Date.now() - 86_400_000).toISOString(),
		jobStartedAt: new Date(Date.now() - 86_400_000).toISOString(),
		owner: 'n8n workflow 7 "Binance history"',
		supervisor: { pid: 4_000_000, startTicks: 1, command: 'n8n' },
		token,
		heartbeatMs: 10_000,
		staleAfterMs: 60_000,
	};
}

const cleanup = (args: string[]) => runCli<CleanupReport>('duckdb-lock-cleanup', [...args, '--json']);

test('finding 7: a forged PID record naming an unrelated process (PID, start time, boot id all right) gets it no signal', async () => {
	const db = freshDb();
	await withTable(db);
	const target = victim();
	writeFileSync(`${db}.pid`, serializeRecord(forgedJobRecord(target)));
	const result = await cleanup(['--db', db, '--stop-stuck', '0s', '--yes', '--grace', '1s']);
	await sleep(200);
	assert.ok(target.alive(), `the victim was signalled: ${result.stderr}`);
	assert.equal(result.code, 1, result.stderr);
	const action = result.json?.actions.find((entry) => entry.action === 'stop-holder');
	assert.equal(action?.done, false);
	assert.match(action?.detail ?? '', /not proven|no proof/i);
	assert.match(
		action?.detail ?? '',
		/sleep 60/,
		'the report shows what the process really runs, not what the file claims',
	);
});

test("finding 7: a forged record for one database naming another database's real job (its token copied) gets no signal", async () => {
	const other = freshDb();
	const run = startCli('duckdb-safe-ingest', ['--db', other, '--', 'sleep', '30']);
	let job: LockRecord | undefined;
	for (let i = 0; i < 300 && !job; i++) {
		const parsed = existsSync(`${other}.pid`) ? parsePidFile(readFileSync(`${other}.pid`, 'utf8')) : undefined;
		if (parsed?.kind === 'record' && parsed.record.role === 'job') job = parsed.record;
		else await sleep(10);
	}
	assert.ok(job && job.pidStart !== undefined);
	const db = freshDb();
	await withTable(db);
	writeFileSync(
		`${db}.pid`,
		serializeRecord({
			...forgedJobRecord({ pid: job.pid, startTicks: job.pidStart }, job.token),
			supervisor: job.supervisor,
		}),
	);
	const result = await cleanup(['--db', db, '--stop-stuck', '0s', '--yes', '--grace', '1s']);
	assert.ok(readProcess(job.pid), `the other run's job was signalled: ${result.stderr}`);
	assert.equal(result.json?.actions.find((entry) => entry.action === 'stop-holder')?.done, false);
	run.child.kill('SIGTERM');
	assert.equal((await run.result).code, 143);
});

test('finding 10: a stale PID file behind a garbage recovery claim is Held (exit 1), never Clean: runs are blocked by it', async () => {
	const db = freshDb();
	await withTable(db);
	const dead = spawnSync('true').pid!;
	writeFileSync(
		`${db}.pid`,
		serializeRecord({
			...forgedJobRecord({ pid: dead, startTicks: 1 }),
			supervisor: { pid: dead, startTicks: 1, command: 'gone' },
		}),
	);
	writeFileSync(`${db}.pid.recover`, 'garbage\n');
	const result = await cleanup(['--db', db]);
	assert.equal(result.json?.state, 'held', result.json?.summary);
	assert.equal(result.code, 1);
	assert.match(result.json?.summary ?? '', /^Held: .*recovery claim/);
	const run = await runCli('duckdb-safe-ingest', ['--db', db, '--', 'true']);
	assert.notEqual(run.code, 0, 'and indeed a run cannot start');
});

test('a cleanup stopped by SIGTERM during a long DuckDB probe leaves no PID file of its own', async () => {
	const db = freshDb();
	await withTable(db);
	const marker = join(dir.path, `probing${n}`);
	const preload = join(dir.path, `slow-probe${n}.js`);
	// Makes the probe of this very process take 3 s (a WAL replay on a large database does), and says when it started;
	// /proc is made inconclusive (as in a container), or no probe would be asked at all.
	writeFileSync(
		preload,
		`require(${JSON.stringify(require.resolve('../../lib/proc/lock-visibility'))}).lockVisibility = () => ({ conclusive: false, why: 'test' });
const probe = require(${JSON.stringify(require.resolve('../../lib/duckdb/probe'))});
const original = probe.probeDatabase;
probe.probeDatabase = async (...args) => {
	require('node:fs').writeFileSync(${JSON.stringify(marker)}, '');
	await new Promise((resolve) => setTimeout(resolve, 3000));
	return original(...args);
};
`,
	);
	const run = startCli('duckdb-lock-cleanup', ['--db', db], {
		env: { ...process.env, NODE_OPTIONS: `--require ${preload}` },
	});
	for (let i = 0; i < 500 && !existsSync(marker); i++) await sleep(10);
	assert.ok(existsSync(marker), 'the probe started');
	assert.ok(existsSync(`${db}.pid`), 'the cleanup holds its lock while it probes');
	run.child.kill('SIGTERM');
	await sleep(100);
	run.child.kill('SIGTERM');
	const result = await run.result;
	assert.equal(
		existsSync(`${db}.pid`),
		false,
		`the cleanup's own PID file is left behind (exit ${result.code}): ${result.stderr}`,
	);
});

test('judgeProof: the lock holder, or the right token for the right lock file, in one of the processes; nothing else', () => {
	const lock = { pidFile: '/data/x.duckdb.pid', token: 'tok-1' };
	const env = (entries: Record<number, Record<string, string>>) => (pid: number) =>
		entries[pid] ? new Map(Object.entries(entries[pid])) : undefined;
	const right = { DUCKDB_SAFE_INGEST_LOCK_FILE: lock.pidFile, DUCKDB_SAFE_INGEST_LOCK_TOKEN: lock.token };
	assert.deepEqual(judgeProof([10, 11], [11], env({}), { databasePath: '/data/x.duckdb' }), {
		proven: true,
		by: "PID 11 holds DuckDB's lock on the database",
	});
	assert.equal(judgeProof([10, 11], [], env({ 11: right }), { databasePath: '/data/x.duckdb', lock }).proven, true);
	for (const wrong of [
		{ ...right, DUCKDB_SAFE_INGEST_LOCK_TOKEN: 'tok-2' },
		{ ...right, DUCKDB_SAFE_INGEST_LOCK_FILE: '/data/y.duckdb.pid' },
		{ DUCKDB_SAFE_INGEST_LOCK_TOKEN: lock.token },
	]) {
		assert.equal(
			judgeProof([10], [], env({ 10: wrong }), { databasePath: '/data/x.duckdb', lock }).proven,
			false,
			JSON.stringify(wrong),
		);
	}
	assert.equal(
		judgeProof([10], [], env({ 10: right }), { databasePath: '/data/x.duckdb' }).proven,
		false,
		'a token proves nothing where no lock is named',
	);
	assert.equal(
		judgeProof([], [5], env({}), { databasePath: '/data/x.duckdb', lock }).proven,
		false,
		'no process, no proof',
	);
	assert.equal(
		judgeProof([10], [], () => undefined, { databasePath: '/data/x.duckdb', lock }).proven,
		false,
		'an unreadable environment proves nothing',
	);
});
