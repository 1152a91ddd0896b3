/**
 * Sharing the database with an API whose workers hold long-lived read-only DuckDB connections (the co-tenant
 * fixture): the wait covers DuckDB's own lock, and the Before/After handshake always completes, once, whatever
 * happens to the run. Real processes, real DuckDB files, a real HTTP API on 127.0.0.1.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runUnderLock } from '../../lib/run/supervise';
import { runInsertRows } from '../../lib/operations/supervise-worker';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { readProcess } from '../../lib/proc/identity';
import type { CleanupReport } from '../../lib/outcome/cleanup-report';
import type { RunHookSpecs } from '../../lib/run/hooks';
import { query } from '../helpers/aggtrades';
import { runCli, startCli } from '../helpers/cli';
import { freePort } from '../helpers/redis';
import { nodeChild, sleep, stopAll, tempDir, type JsonChild } from '../helpers/processes';

const dir = tempDir();
let n = 0;
afterEach(() => stopAll());
after(() => dir.remove());

interface Api {
	child: JsonChild;
	url: string;
	workers: number[];
	stats(): Promise<{
		prepare: number;
		refresh: number;
		bodies: string[];
		workers: Array<{ pid: number; open: boolean }>;
	}>;
}

async function database(): Promise<string> {
	const db = join(dir.path, `shared${++n}.duckdb`);
	const instance = await DuckDBInstance.create(db);
	const connection = await instance.connect();
	await connection.run('CREATE TABLE prices AS SELECT 1 AS id');
	connection.closeSync();
	instance.closeSync();
	return db;
}

async function api(db: string, options: { reaches?: number } = {}): Promise<Api> {
	const child = nodeChild('cotenant-api', [JSON.stringify({ db, workers: 2, ...options })]);
	const ready = await child.next<{ port: number; workers: number[] }>('ready', 60_000);
	const url = `http://127.0.0.1:${ready.port}`;
	return { child, url, workers: ready.workers, stats: async () => (await fetch(`${url}/stats`)).json() as never };
}

const handshake = (server: Api): RunHookSpecs => ({
	before: { kind: 'request', url: `${server.url}/prepare` },
	after: { kind: 'request', url: `${server.url}/refresh` },
});

/**
 * A CLI run with `args` (its hooks) SIGKILLed while its job runs, and then its job (by the PID its lock names): a crash
 * that leaves the lock behind, owing its After.
 */
async function diedMidJob(db: string, args: string[]): Promise<void> {
	const run = startCli('duckdb-safe-ingest', ['--db', db, '--wait', '10s', ...args, '--', 'sleep', '30']);
	for (let i = 0; i < 500 && !/^role=job$/m.test(existsSync(`${db}.pid`) ? readFileSync(`${db}.pid`, 'utf8') : ''); i++)
		await sleep(10);
	const job = (parsePidFile(readFileSync(`${db}.pid`, 'utf8')) as { record: { pid: number } }).record.pid;
	run.child.kill('SIGKILL');
	await run.result;
	process.kill(job, 'SIGKILL');
	for (let i = 0; i < 200 && existsSync(`/proc/${job}`); i++) await sleep(10);
}

/** A run that found a lock owing its After: it did that After first, then its own Before and After. */
function assertOwedAfterPaidFirst(run: {
	json?: { hooks?: Array<{ phase: string; ok: boolean; pendingFrom?: number }> };
}): void {
	assert.deepEqual(
		run.json?.hooks?.map((hook) => [hook.phase, hook.ok, hook.pendingFrom !== undefined]),
		[
			['after', true, true],
			['before', true, false],
			['after', true, false],
		],
	);
}

test('Before and After succeed: the readers let go, the job runs, both workers have reopened afterwards', async () => {
	const db = await database();
	const server = await api(db);
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['sh', '-c', 'echo ran'],
		waitMs: 10_000,
		handshake: handshake(server),
	});
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.deepEqual(
		outcome.hooks?.map((hook) => [hook.phase, hook.ok, hook.statusCode]),
		[
			['before', true, 200],
			['after', true, 200],
		],
	);
	const stats = await server.stats();
	assert.deepEqual([stats.prepare, stats.refresh], [1, 1]);
	assert.deepEqual(
		stats.workers.map((worker) => worker.open),
		[true, true],
	);
	assert.equal(JSON.parse(stats.bodies[1]).status, 'success', 'the After request carries the outcome record');
});

test('the job fails, times out, is canceled: After is called exactly once each time', async () => {
	const cases: Array<[string, Parameters<typeof runUnderLock>[0]['command'], () => object]> = [
		['failed', ['sh', '-c', 'exit 3'], () => ({})],
		['timeout', ['sleep', '30'], () => ({ timeoutMs: 500, graceMs: 100 })],
		['canceled', ['sleep', '30'], () => ({ signal: AbortSignal.timeout(1500), graceMs: 100 })],
	];
	for (const [status, command, extra] of cases) {
		const db = await database();
		const server = await api(db);
		const outcome = await runUnderLock({
			databasePath: db,
			command,
			waitMs: 10_000,
			handshake: handshake(server),
			...extra(),
		});
		assert.equal(outcome.status, status, outcome.summary);
		const stats = await server.stats();
		assert.deepEqual([stats.prepare, stats.refresh], [1, 1], status);
		assert.deepEqual(
			stats.workers.map((worker) => worker.open),
			[true, true],
			status,
		);
		server.child.child.kill('SIGTERM');
	}
});

test('the CLI gets SIGTERM while the job runs: the job is stopped, then After is called once, then the lock released', async () => {
	const db = await database();
	const server = await api(db);
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--wait',
		'10s',
		'--before-request',
		`${server.url}/prepare`,
		'--after-request',
		`${server.url}/refresh`,
		'--',
		'sleep',
		'30',
	]);
	for (let i = 0; i < 500 && !/^role=job$/m.test(existsSync(`${db}.pid`) ? readFileSync(`${db}.pid`, 'utf8') : ''); i++)
		await sleep(10);
	run.child.kill('SIGTERM');
	const result = await run.result;
	assert.equal(result.code, 143, result.stderr);
	assert.match(result.stderr, /after hook POST http:\/\/127\.0\.0\.1:\d+\/refresh: done/);
	assert.deepEqual((await server.stats()).refresh, 1);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('the CLI SIGKILLed while the job runs: After is owed; the cleanup without a hook says so, the next run with one does it once', async () => {
	const db = await database();
	const server = await api(db);
	const args = ['--before-request', `${server.url}/prepare`, '--after-request', `${server.url}/refresh`];
	const run = startCli('duckdb-safe-ingest', ['--db', db, '--wait', '10s', ...args, '--', 'sleep', '30']);
	let job = 0;
	for (let i = 0; i < 500 && !job; i++) {
		const parsed = existsSync(`${db}.pid`) ? parsePidFile(readFileSync(`${db}.pid`, 'utf8')) : undefined;
		if (parsed?.kind === 'record' && parsed.record.role === 'job') job = parsed.record.pid;
		else await sleep(10);
	}
	assert.match(
		readFileSync(`${db}.pid`, 'utf8'),
		/^after_pending=\{"kind":"request","target":"POST http:\/\/127\.0\.0\.1:\d+\/refresh"\}$/m,
	);
	run.child.kill('SIGKILL');
	await run.result;
	process.kill(job, 'SIGKILL');
	for (let i = 0; i < 200 && existsSync(`/proc/${job}`); i++) await sleep(10);
	assert.equal((await server.stats()).refresh, 0, 'After not yet called');

	const inspected = await runCli<CleanupReport>('duckdb-lock-cleanup', ['--db', db, '--json']);
	assert.equal(inspected.code, 1, inspected.stderr);
	assert.match(inspected.json?.summary ?? '', /still owes its After hook POST http:\/\/127\.0\.0\.1:\d+\/refresh/);
	assert.match(inspected.json?.afterPending?.target ?? '', /^POST .*\/refresh$/);
	const blocked = await runCli('duckdb-safe-ingest', ['--db', db, '--json', '--', 'true']);
	assert.equal(blocked.code, 1, 'a run without an After hook does not clear a lock whose After is owed');
	assert.match(blocked.json?.summary ?? '', /ended \(or died\) owing its After hook \(POST .*\/refresh\)/);

	const next = await runCli('duckdb-safe-ingest', ['--db', db, '--json', ...args, '--', 'true']);
	assert.equal(next.code, 0, next.stderr);
	assertOwedAfterPaidFirst(next);
	const stats = await server.stats();
	assert.deepEqual([stats.prepare, stats.refresh], [2, 2], "the owed After once, then the next run's own handshake");
});

test("the cleanup with --after-request does the owed After once, reports it, removes the lock, and never prints its header's secret", async () => {
	const db = await database();
	const server = await api(db);
	const marker = ['cleanup', 'marker', '9d2e7b41'].join('-');
	await diedMidJob(db, ['--before-request', `${server.url}/prepare`, '--after-request', `${server.url}/refresh`]);
	const cleanup = await runCli<CleanupReport>('duckdb-lock-cleanup', [
		'--db',
		db,
		'--after-request',
		`${server.url}/refresh`,
		'--request-header',
		`Authorization: Bearer ${marker}`,
		'--json',
	]);
	assert.ok(
		!`${cleanup.stdout}${cleanup.stderr}`.includes(marker),
		'the secret is nowhere in what the cleanup printed',
	);
	assert.ok(
		cleanup.json?.actions.some((action) => action.action === 'after-hook' && action.done),
		cleanup.stderr,
	);
	assert.ok(cleanup.json?.actions.some((action) => action.action === 'remove-stale-pid-file' && action.done));
	// The API is back: its workers hold their read locks again, which the report says (Held, exit 1).
	assert.deepEqual(
		cleanup.json?.holders.map((holder) => [holder.pid, holder.lock]).sort(),
		server.workers.map((pid) => [pid, 'read']).sort(),
	);
	assert.equal((await server.stats()).refresh, 1);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('/prepare reaches only one worker: the wait expires, Blocked names the other worker; After is still called', async () => {
	const db = await database();
	const server = await api(db, { reaches: 1 });
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['true'],
		waitMs: 1500,
		handshake: handshake(server),
	});
	assert.equal(outcome.status, 'blocked', outcome.summary);
	assert.equal(outcome.holder?.pid, server.workers[1]);
	assert.match(outcome.summary, new RegExp(`held by PID ${server.workers[1]}`));
	assert.ok(outcome.lock.waitedMs + 1000 <= outcome.durationMs, 'the wait was used');
	assert.deepEqual((await server.stats()).refresh, 1, 'After still called');
});

test('a reader that lets go within the wait: Success after it let go; one that does not: Blocked at the end of the wait, naming it', async () => {
	const db = await database();
	const reader = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'read' })]);
	await reader.next('ready', 60_000);
	setTimeout(() => reader.child.kill('SIGTERM'), 1000);
	const started = Date.now();
	const waited = await runUnderLock({ databasePath: db, command: ['true'], waitMs: 10_000 });
	assert.equal(waited.status, 'success', waited.summary);
	assert.ok(Date.now() - started >= 900, 'it waited for the reader');
	assert.ok(waited.lock.databaseWaitedMs! >= 900, `waited ${waited.lock.databaseWaitedMs} ms for DuckDB's lock`);
	assert.match(waited.summary, /\(waited [\d.]+s for other holders of the database to let go\)$/);

	const stubborn = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'read' })]);
	await stubborn.next('ready', 60_000);
	const blocked = await runUnderLock({ databasePath: db, command: ['true'], waitMs: 1000 });
	assert.equal(blocked.status, 'blocked', blocked.summary);
	assert.equal(blocked.holder?.pid, stubborn.pid);
	assert.match(blocked.summary, new RegExp(`held by PID ${stubborn.pid} \\(\\S*node .*reading \\(read-only\\)`));
	assert.ok(blocked.durationMs >= 900);
});

/** The supervisor stopped itself at a failpoint (state T). */
async function stopped(pid: number): Promise<void> {
	for (let i = 0; i < 1500 && readProcess(pid, { details: false })?.state !== 'T'; i++) await sleep(10);
	assert.equal(readProcess(pid, { details: false })?.state, 'T', 'the supervisor stopped at its failpoint');
}

test("a reader that grabs the file between our check and the worker's open: Run SQL retries within the wait", async () => {
	for (const wait of ['10s', '0']) {
		const db = await database();
		const sql = join(dir.path, `grab${++n}.sql`);
		writeFileSync(sql, 'CREATE TABLE loaded AS SELECT 42 AS answer');
		// Stopped once the lock names the worker (DuckDB's lock was free then), before the worker may open the file.
		const run = startCli('duckdb-safe-ingest', ['--db', db, '--wait', wait, '--json', '--sql', sql], {
			env: { ...process.env, DUCKDB_SAFE_INGEST_FAILPOINT: 'job-recorded' },
		});
		await stopped(run.child.pid!);
		const reader = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'read' })]);
		await reader.next('ready', 60_000);
		process.kill(run.child.pid!, 'SIGCONT');
		setTimeout(() => reader.child.kill('SIGTERM'), 1000);
		const result = await run.result;
		if (wait === '10s') {
			assert.equal(result.code, 0, result.stderr);
			assert.equal(result.json?.status, 'success');
			assert.deepEqual(await query(db, 'SELECT answer FROM loaded'), [{ answer: 42 }], 'opened once the reader let go');
		} else {
			assert.notEqual(result.code, 0, 'no wait left: the conflict is the outcome');
			assert.match(result.stderr, /Conflicting lock/);
		}
	}
});

test('a failing Before makes the run Blocked with its reason, nothing started; After is still called', async () => {
	const db = await database();
	const server = await api(db);
	const marker = join(dir.path, `marker${n}`);
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['touch', marker],
		handshake: {
			before: { kind: 'request', url: `${server.url}/nope` },
			after: { kind: 'request', url: `${server.url}/refresh` },
		},
	});
	assert.equal(outcome.status, 'blocked');
	assert.match(
		outcome.summary,
		/^Blocked: shared\d+\.duckdb: the Before hook POST .*\/nope failed: HTTP 404; nothing was started/,
	);
	assert.equal(existsSync(marker), false);
	assert.equal((await server.stats()).refresh, 1);
	const closed = await freePort();
	const unreachable = await runUnderLock({
		databasePath: await database(),
		command: ['true'],
		handshake: { after: { kind: 'request', url: `http://127.0.0.1:${closed}/refresh` } },
	});
	assert.equal(unreachable.status, 'success');
	assert.match(unreachable.summary, /; the After hook POST http:\/\/127\.0\.0\.1:\d+\/refresh failed: .*ECONNREFUSED/);
});

test('Before and After commands get the database and phase in their environment, the After the outcome on stdin', async () => {
	const db = await database();
	const record = join(dir.path, `hooks${n}.log`);
	const hook = join(dir.path, `hook${n}.sh`);
	writeFileSync(
		hook,
		`#!/bin/sh\necho "$DUCKDB_SAFE_INGEST_PHASE $DUCKDB_SAFE_INGEST_STATUS $DUCKDB_SAFE_INGEST_DATABASE $(head -c 11)" >> ${record}\n`,
		{ mode: 0o755 },
	);
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['true'],
		handshake: { before: { kind: 'command', file: hook }, after: { kind: 'command', file: hook } },
	});
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.deepEqual(readFileSync(record, 'utf8').trim().split('\n'), [
		`before  ${db} `,
		`after success ${db} {"status":"`,
	]);
});

test('the CLI SIGKILLed during its Before: the lock stays owing the After; the next run with the handshake does it once', async () => {
	const db = await database();
	const server = await api(db);
	// A Before that hangs, and says who it is (we stop it ourselves, by that PID, afterwards).
	const beforePid = join(dir.path, `before${n}.pid`);
	const before = join(dir.path, `before${n}.sh`);
	writeFileSync(before, `#!/bin/sh\necho $$ > '${beforePid}'\nexec sleep 30\n`, { mode: 0o755 });
	const after = ['--after-request', `${server.url}/refresh`];
	const run = startCli('duckdb-safe-ingest', ['--db', db, '--before-command', before, ...after, '--', 'true']);
	for (let i = 0; i < 500 && !existsSync(beforePid); i++) await sleep(10);
	assert.ok(existsSync(beforePid), 'the Before runs');
	assert.match(readFileSync(`${db}.pid`, 'utf8'), /^after_pending=\{"kind":"request",/m, 'the After is owed already');
	run.child.kill('SIGKILL');
	await run.result;
	const hook = Number(readFileSync(beforePid, 'utf8'));
	if (readProcess(hook, { details: false })) process.kill(hook, 'SIGKILL');
	assert.ok(existsSync(`${db}.pid`), 'the lock stays: its run died owing its After');
	assert.equal((await server.stats()).refresh, 0);

	const next = await runCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--json',
		'--before-request',
		`${server.url}/prepare`,
		...after,
		'--',
		'true',
	]);
	assert.equal(next.code, 0, next.stderr);
	assertOwedAfterPaidFirst(next);
	assert.equal((await server.stats()).refresh, 2, "the owed After once, then the run's own");
	assert.equal(existsSync(`${db}.pid`), false);
});

test('Insert Rows with the API sharing the database: Before lets the readers go, the rows land, After once (also when it fails)', async () => {
	for (const [rows, status] of [
		[[{ id: 2 }, { id: 3 }], 'success'],
		[[{ id: 4 }, { id: 'four' }], 'failed'],
	] as const) {
		const db = await database();
		const server = await api(db);
		const outcome = await runInsertRows(
			rows,
			{ databasePath: db, table: 'prices' },
			{ waitMs: 10_000, handshake: handshake(server) },
		);
		assert.equal(outcome.status, status, outcome.summary);
		const stats = await server.stats();
		assert.deepEqual([stats.prepare, stats.refresh], [1, 1], status);
		assert.equal(JSON.parse(stats.bodies[1]).insert.items, 2, 'the After request carries the insert report');
		assert.deepEqual(
			stats.workers.map((worker) => worker.open),
			[true, true],
		);
		server.child.child.kill('SIGTERM');
		await server.child.exited;
		assert.deepEqual(
			(await query(db, 'SELECT id FROM prices ORDER BY id')).map((row) => Number(row.id)),
			status === 'success' ? [1, 2, 3] : [1],
		);
	}
});
