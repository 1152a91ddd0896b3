/**
 * Two n8n workers in two containers on one host, sharing the database folder: simulated with
 * `unshare --pid --uts --fork --mount-proc` (own PIDs, own host name). Neither can check the other's PIDs, so the
 * lease decides: a heartbeat in the PID file's modification time, and DuckDB's own file lock, which no heartbeat age
 * overrules. Needs root (unshare), as CI runs.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, sleep, stopAll, tempDir } from '../helpers/processes';
import { BIN } from '../helpers/cli';
import { ingestIn, inContainer } from '../helpers/containers';
import { recordedJob } from '../helpers/jobs';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `shared${++n}.duckdb`);
afterEach(() => stopAll());
after(() => dir.remove());

const LEASE = ['--heartbeat', '200ms', '--stale-after', '2s'];

test('two workers start at once, round after round: exactly one runs, the other is blocked by a holder it cannot check by PID', async () => {
	for (let round = 0; round < 4; round++) {
		const db = freshDb();
		// The job lasts far longer than a start-up, so the two runs overlap even on a slow machine.
		const runs = ['worker-a', 'worker-b'].map((host) =>
			ingestIn(host, ['--db', db, ...LEASE, '--json', '--', 'sleep', '3']),
		);
		const results = await Promise.all(runs.map((run) => run.result));
		const statuses = results.map((result) => result.outcome?.status).sort();
		assert.deepEqual(statuses, ['blocked', 'success'], results.map((result) => result.output).join('\n---\n'));
		const blocked = results.find((result) => result.outcome?.status === 'blocked')!.outcome!;
		assert.equal(blocked.holder?.remote, true, 'judged by its lease, not by a PID of another namespace');
		assert.match(blocked.holder?.where ?? '', /another PID namespace on this machine \(host name worker-[ab]/);
		assert.equal(blocked.holder?.host === 'worker-a' || blocked.holder?.host === 'worker-b', true);
		assert.equal(existsSync(`${db}.pid`), false);
	}
});

test('a live holder in the other container with a long silent job keeps its lease: never judged stale', async () => {
	const db = freshDb();
	const holder = ingestIn('worker-a', [
		'--db',
		db,
		'--heartbeat',
		'200ms',
		'--stale-after',
		'1s',
		'--json',
		'--',
		'sleep',
		'6',
	]);
	await recordedJob(db);
	const started = Date.now();
	let attempts = 0;
	while (Date.now() - started < 4500) {
		const attempt = await ingestIn('worker-b', ['--db', db, '--stale-after', '1s', '--json', '--', 'true']).result;
		assert.equal(attempt.outcome?.status, 'blocked', attempt.output);
		attempts++;
		await sleep(300);
	}
	assert.ok(attempts >= 3, `tried ${attempts} times over several stale periods`);
	const done = await holder.result;
	assert.equal(done.outcome?.status, 'success', done.output);
	assert.ok((done.outcome?.lock.lease?.renewals ?? 0) >= 10, 'the heartbeat ran all along');
	const after = await ingestIn('worker-b', ['--db', db, '--json', '--', 'true']).result;
	assert.equal(after.outcome?.status, 'success', after.output);
});

test("the holder's container dies: the other worker recovers the lock after the stale period, not before", async () => {
	const db = freshDb();
	const holder = ingestIn('worker-a', ['--db', db, ...LEASE, '--', 'sleep', '600']);
	await recordedJob(db);
	holder.child.kill('SIGKILL'); // the unshare process we started: --kill-child takes the whole namespace down
	await holder.result;
	const lastHeartbeat = statSync(`${db}.pid`).mtimeMs;

	const early = await ingestIn('worker-b', ['--db', db, ...LEASE, '--json', '--', 'true']).result;
	if (Date.now() - lastHeartbeat < 2000) {
		assert.equal(early.outcome?.status, 'blocked', early.output);
		assert.equal(early.outcome?.holder?.host, 'worker-a');
	}
	const later = await ingestIn('worker-b', ['--db', db, ...LEASE, '--wait', '20s', '--json', '--', 'true']).result;
	assert.equal(later.outcome?.status, 'success', later.output);
	const recovered = later.outcome!.lock.recovered[0];
	assert.equal(recovered?.reason, 'lease-expired');
	assert.equal(recovered?.host, 'worker-a');
	const acquiredAt = Date.parse(later.outcome!.startedAt) + later.outcome!.lock.waitedMs;
	assert.ok(
		acquiredAt - lastHeartbeat >= 2000,
		`recovered ${acquiredAt - lastHeartbeat} ms after the last heartbeat, not before the stale period (2 s)`,
	);
});

test("an orphaned job in the other container still holding DuckDB's lock is never judged stale, whatever its heartbeat age", async () => {
	const db = freshDb();
	const cli = join(BIN, 'duckdb-safe-ingest.js');
	const job = JSON.stringify({ db, mode: 'write' });
	// Inside worker-a: the supervisor starts a DuckDB writer, and is then SIGKILLed by the script that started it
	// (as an OOM kill would): the job lives on, holding DuckDB's lock; nobody renews the heartbeat any more.
	const script = `"$@" > "${dir.path}/orphan.out" 2>&1 & supervisor=$!
		until grep -q '"event":"ready"' "${dir.path}/orphan.out"; do sleep 0.05; done
		kill -9 $supervisor; echo orphaned; sleep 600`;
	const container = inContainer('worker-a', [
		'sh',
		'-c',
		script,
		'sh',
		process.execPath,
		cli,
		'--db',
		db,
		...LEASE,
		'--',
		process.execPath,
		join(FIXTURES, 'duckdb-holder.js'),
		job,
	]);
	for (let i = 0; i < 1000 && !container.output().includes('orphaned'); i++) await sleep(20);
	assert.match(container.output(), /orphaned/);
	const lastHeartbeat = statSync(`${db}.pid`).mtimeMs;
	while (Date.now() - lastHeartbeat < 3000) await sleep(100);

	const blocked = await ingestIn('worker-b', ['--db', db, ...LEASE, '--json', '--', 'true']).result;
	assert.equal(blocked.outcome?.status, 'blocked', `the lease expired, but DuckDB's lock is held: ${blocked.output}`);
	assert.equal(blocked.outcome?.holder?.host, 'worker-a');
	assert.ok((blocked.outcome?.holder?.heartbeatAgeSeconds ?? 0) >= 3);

	container.child.kill('SIGKILL');
	await container.result;
	const freed = await ingestIn('worker-b', ['--db', db, ...LEASE, '--wait', '10s', '--json', '--', 'true']).result;
	assert.equal(freed.outcome?.status, 'success', freed.output);
	assert.equal(freed.outcome?.lock.recovered[0]?.reason, 'lease-expired');
});

test('a run whose PID file is removed or replaced under it (someone judged it stale) stops its job at once: never two writers', async () => {
	const db = freshDb();
	const run = ingestIn('worker-a', [
		'--db',
		db,
		'--heartbeat',
		'200ms',
		'--stale-after',
		'2s',
		'--grace',
		'10s',
		'--json',
		'--',
		'sleep',
		'60',
	]);
	await recordedJob(db);
	rmSync(`${db}.pid`);
	const result = await run.result;
	assert.equal(result.outcome?.status, 'failed', result.output);
	assert.equal(result.outcome?.termination?.reason, 'lock-lost');
	assert.ok((result.outcome?.durationMs ?? 60_000) < 10_000, 'stopped without waiting for the grace period');
});
