/**
 * The Redis lock backend against a real redis-server (started here on 127.0.0.1, random port): one winner among 32
 * processes, owner-only release, lease expiry after a holder is SIGKILLed (checked by PID on this machine, by TTL from
 * another PID namespace), Redis unreachable when acquiring (blocked, job not started) and stopped mid-run (reported;
 * a lost lease stops the job), and the cleanup tool on both sides of the lock.
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Redis from 'ioredis';
import { RedisLockClient } from '../../lib/lock/redis-client';

import { parsePidFile, serializeRecord } from '../../lib/lock/pid-file-format';
import type { CleanupReport } from '../../lib/outcome/cleanup-report';
import { nodeChild, sleep, stopAll, tempDir, track, type JsonChild } from '../helpers/processes';
import { bootId, hostName, pidNamespace, readProcess } from '../../lib/proc/identity';
import { freePort, startRelay, startRedis, type RedisServer } from '../helpers/redis';
import { runCli, startCli } from '../helpers/cli';
import { runUnderLock } from '../../lib/run/supervise';
import { redisKeyFor } from '../../lib/lock/redis-inspect';
import { recordedJob } from '../helpers/jobs';

const dir = tempDir();
let redis: RedisServer;
let n = 0;
const freshDb = (): string => {
	const folder = join(dir.path, `r${++n}`);
	mkdirSync(folder);
	return join(folder, 'market.duckdb');
};
type AcquireEvent = {
	acquired: boolean;
	reason?: string;
	decidedAt: number;
	detail?: string;
	recovered: Array<{ reason: string; detail: string }>;
	inspection?: { holder: { pid: number; where?: string } };
};

before(async () => {
	redis = await startRedis({ untracked: true });
});
afterEach(() => stopAll());
after(async () => {
	await redis?.stop();
	dir.remove();
});

async function actor(prefix: string[] = []): Promise<JsonChild> {
	const child = nodeChild('lock-actor', [], prefix);
	await child.next('ready', 60_000);
	return child;
}

async function withClient<T>(run: (client: RedisLockClient) => Promise<T>): Promise<T> {
	const client = await RedisLockClient.connect(redis.url);
	try {
		return await run(client);
	} finally {
		client.close();
	}
}

async function waitForRedisJob(key: string): Promise<void> {
	for (let i = 0; i < 500; i++) {
		if ((await withClient((client) => client.read(key)))?.holder?.role === 'job') return;
		await sleep(20);
	}
	throw new Error('the Redis record never named the job');
}

test('32 processes race for one Redis lock, round after round: exactly one wins (each has its own PID file, so Redis decides)', async () => {
	const actors = await Promise.all(Array.from({ length: 32 }, () => actor()));
	const key = `race-${Date.now()}`;
	for (let round = 0; round < 5; round++) {
		const databases = actors.map(() => freshDb());
		const at = Date.now() + 200;
		actors.forEach((racer, index) =>
			racer.send({ cmd: 'acquire', db: databases[index], at, redis: { url: redis.url, key } }),
		);
		const events = await Promise.all(actors.map((racer) => racer.next<AcquireEvent>('acquire', 60_000)));
		const winners = actors.filter((_racer, index) => events[index].acquired);
		assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
		for (const event of events.filter((entry) => !entry.acquired)) {
			assert.equal(event.reason, 'held');
			assert.equal(event.inspection?.holder.pid, winners[0].pid, 'the losers see the winner in Redis');
		}
		assert.equal(databases.filter((db) => existsSync(`${db}.pid`)).length, 1, 'only the winner wrote its PID file');
		winners[0].send({ cmd: 'release' });
		assert.equal((await winners[0].next<{ result: { released: boolean } }>('release')).result.released, true);
		assert.equal(await withClient((client) => client.read(RedisLockClient.keyFor(key))), undefined);
	}
});

test("only the owner releases: a wrong token changes nothing, and an owner whose lease ran out cannot delete the next holder's lock", async () => {
	const db = freshDb();
	const key = redisKeyFor(db, { url: redis.url });
	const holder = await actor();
	holder.send({ cmd: 'acquire', db, redis: { url: redis.url } });
	assert.equal((await holder.next<AcquireEvent>('acquire')).acquired, true);
	assert.equal(await withClient((client) => client.releaseIfToken(key, 'not-the-token')), false);
	const state = await withClient((client) => client.read(key));
	assert.equal(state?.holder?.pid, holder.pid, 'still held by its owner');
	const other = await actor();
	other.send({ cmd: 'acquire', db, redis: { url: redis.url } });
	assert.equal((await other.next<AcquireEvent>('acquire')).acquired, false);
	holder.send({ cmd: 'release' });
	assert.equal((await holder.next<{ result: { released: boolean } }>('release')).result.released, true);

	// A lease that runs out (no heartbeat) lets the next holder in; the old owner's late release is refused.
	const late = await actor();
	late.send({ cmd: 'acquire', db, redis: { url: redis.url }, heartbeatMs: 100, staleAfterMs: 600 });
	assert.equal((await late.next<AcquireEvent>('acquire')).acquired, true);
	await sleep(900);
	other.send({
		cmd: 'acquire',
		db: freshDb(),
		redis: { url: redis.url, key: key.replace(RedisLockClient.keyFor(''), '') },
	});
	assert.equal((await other.next<AcquireEvent>('acquire')).acquired, true, 'the expired lease freed the key');
	late.send({ cmd: 'release' });
	const refused = await late.next<{ result: { released: boolean; detail: string } }>('release');
	assert.equal(refused.result.released, false);
	assert.match(refused.result.detail, /no longer ours/);
	assert.equal(
		(await withClient((client) => client.read(key)))?.holder?.pid,
		other.pid,
		'the new holder keeps its lock',
	);
	other.send({ cmd: 'release' });
	await other.next('release');
});

test('a holder SIGKILLed on this machine is recovered at once (its PID is checked); one in another PID namespace only when its lease expires', async () => {
	const db = freshDb();
	const key = redisKeyFor(db, { url: redis.url });
	const lease = { heartbeatMs: 200, staleAfterMs: 3000, keepLease: true };
	const local = await actor();
	local.send({ cmd: 'acquire', db, redis: { url: redis.url }, ...lease });
	assert.equal((await local.next<AcquireEvent>('acquire')).acquired, true);
	local.child.kill('SIGKILL');
	await local.exited;
	const killedAt = Date.now();
	const next = await actor();
	next.send({ cmd: 'acquire', db, redis: { url: redis.url }, ...lease });
	const taken = await next.next<AcquireEvent>('acquire');
	assert.equal(taken.acquired, true);
	assert.equal(taken.recovered[0]?.reason, 'dead');
	assert.ok(taken.decidedAt - killedAt < lease.staleAfterMs, 'without waiting for the lease');
	next.send({ cmd: 'release' });
	await next.next('release');

	// In another PID namespace (another container): its PID means nothing here, so only the TTL frees the key.
	const remote = await actor(['unshare', '--pid', '--fork', '--mount-proc', '--kill-child']);
	remote.send({ cmd: 'acquire', db, redis: { url: redis.url }, heartbeatMs: 200, staleAfterMs: 1500, keepLease: true });
	assert.equal((await remote.next<AcquireEvent>('acquire')).acquired, true);
	await sleep(600); // a few renewals
	remote.child.kill('SIGKILL');
	await remote.exited;
	const ttl = (await withClient((client) => client.read(key)))!.ttlMs;
	const goneAt = Date.now();
	const waiter = await actor();
	waiter.send({ cmd: 'acquire', db, redis: { url: redis.url } });
	const early = await waiter.next<AcquireEvent>('acquire');
	if (early.decidedAt < goneAt + ttl - 100) assert.equal(early.acquired, false, 'the lease still runs');
	waiter.send({ cmd: 'acquire', db, redis: { url: redis.url }, waitMs: 10_000 });
	const expired = await waiter.next<AcquireEvent>('acquire');
	assert.equal(expired.acquired, true);
	assert.ok(
		expired.decidedAt >= goneAt + ttl - 50,
		`taken ${expired.decidedAt - goneAt} ms after the kill; the lease had ${ttl} ms left`,
	);
	assert.equal(
		expired.recovered.find((entry) => /\(Redis lock /.test(entry.detail)),
		undefined,
		'freed by expiry, not removed',
	);
	assert.match(
		JSON.stringify(expired.recovered),
		/lease-expired/,
		'the stale PID file left under the expired key was replaced',
	);
	waiter.send({ cmd: 'release' });
	await waiter.next('release');
});

test('Redis unreachable when acquiring: Blocked with the reason, the job never starts, no PID file', async () => {
	const db = freshDb();
	const marker = join(dir.path, 'started-anyway');
	const port = await freePort();
	const result = await runCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--redis',
		`redis://:secret@127.0.0.1:${port}/0`,
		'--json',
		'--',
		'touch',
		marker,
	]);
	assert.equal(result.code, 1);
	assert.equal(result.json?.status, 'blocked');
	assert.match(
		result.json?.summary ?? '',
		/cannot be checked: Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 is unreachable: connect ECONNREFUSED.*never run unprotected/,
	);
	assert.ok(!JSON.stringify(result.json).includes('secret'), 'the password is never printed');
	assert.equal(existsSync(marker), false);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('Redis stopped mid-run: a short job finishes and the failed release is reported; a lease lost for good stops the job', async () => {
	const first = await startRedis();
	const db = freshDb();
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--redis',
		first.url,
		'--heartbeat',
		'200ms',
		'--stale-after',
		'20s',
		'--json',
		'--',
		'sleep',
		'1.5',
	]);
	await recordedJob(db);
	await first.stop();
	const finished = await run.result;
	assert.equal(finished.json?.status, 'success', finished.stderr);
	assert.equal(finished.json?.lock.released, false);
	assert.match(finished.json?.lock.releaseNote ?? '', /Redis at .* (failed|unreachable).*expires by itself/);
	assert.ok((finished.json?.lock.lease?.renewFailures ?? 0) >= 1, 'failed renewals are counted');
	assert.equal(existsSync(`${db}.pid`), false, 'the PID file part was released');

	const second = await startRedis();
	const lost = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--redis',
		second.url,
		'--heartbeat',
		'200ms',
		'--stale-after',
		'1s',
		'--grace',
		'1s',
		'--json',
		'--',
		'sleep',
		'60',
	]);
	await recordedJob(db);
	await second.stop();
	const stopped = await lost.result;
	assert.equal(stopped.json?.status, 'failed', stopped.stderr);
	assert.equal(stopped.json?.termination?.reason, 'lock-lost');
	assert.match(stopped.json?.summary ?? '', /the lock was lost while the job ran .*two writers never run/);
	assert.ok((stopped.json?.durationMs ?? 60_000) < 30_000);
});

test('a PID file left under an expired Redis key is replaced at once; the cleanup tool reports and clears both sides', async () => {
	const db = freshDb();
	const key = redisKeyFor(db, { url: redis.url });
	writeFileSync(
		`${db}.pid`,
		serializeRecord({
			pid: 4242,
			role: 'job',
			command: 'python3 ingest.py',
			host: 'worker-on-another-machine',
			bootId: 'another-boot',
			pidNamespace: 'pid:[1]',
			lockedAt: new Date().toISOString(),
			owner: 'n8n worker 2',
			supervisor: { pid: 4000, command: 'n8n worker' },
			token: 'gone',
			heartbeatMs: 10_000,
			staleAfterMs: 60_000,
			backend: 'redis',
			redisKey: key,
		}),
	);
	const run = await runCli('duckdb-safe-ingest', ['--db', db, '--redis', redis.url, '--json', '--', 'true']);
	assert.equal(run.json?.status, 'success', run.stderr);
	assert.equal(run.json?.lock.backend, 'redis');
	assert.match(run.json?.lock.recovered[0]?.detail ?? '', /written under the Redis lock .* no longer holds/);

	const holder = await actor();
	holder.send({ cmd: 'acquire', db, redis: { url: redis.url } });
	assert.equal((await holder.next<AcquireEvent>('acquire')).acquired, true);
	const inspected = await runCli<CleanupReport>('duckdb-lock-cleanup', [
		'--db',
		db,
		'--redis',
		redis.url,
		'--inspect-only',
		'--json',
	]);
	assert.equal(inspected.code, 1);
	assert.equal(inspected.json?.redis?.state, 'held');
	assert.equal(inspected.json?.redis?.holder?.pid, holder.pid);
	assert.match(inspected.json?.summary ?? '', /the Redis lock .* is held from host .* by PID \d+/);
	holder.child.kill('SIGKILL');
	await holder.exited;
	const cleaned = await runCli<CleanupReport>('duckdb-lock-cleanup', ['--db', db, '--redis', redis.url, '--json']);
	assert.equal(cleaned.json?.state, 'recovered', cleaned.stderr);
	assert.deepEqual(
		cleaned.json?.actions
			.filter((action) => action.done)
			.map((action) => action.action)
			.sort(),
		['remove-stale-pid-file', 'remove-stale-redis-lock'],
	);
	assert.equal(await withClient((client) => client.read(key)), undefined);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('a job left running on this machine after its Redis key expired still blocks the next run; once it is gone the file is replaced', async () => {
	const db = freshDb();
	const key = redisKeyFor(db, { url: redis.url });
	// The job a supervisor could not stop (it gave up and let its Redis key expire): a process of ours, its own group.
	const job = track(spawn('sleep', ['600'], { detached: true, stdio: 'ignore' }));
	const facts = readProcess(job.pid!);
	assert.ok(facts?.startTicks, 'the job runs');
	const supervisor = spawnSync('true');
	writeFileSync(
		`${db}.pid`,
		serializeRecord({
			pid: job.pid!,
			role: 'job',
			pidStart: facts.startTicks,
			pgid: job.pid!,
			command: 'sleep 600',
			host: hostName(),
			bootId: bootId(),
			pidNamespace: pidNamespace(),
			lockedAt: new Date().toISOString(),
			owner: 'a run whose key expired',
			supervisor: { pid: supervisor.pid!, startTicks: 1, command: 'duckdb-safe-ingest' },
			token: 'expired',
			heartbeatMs: 10_000,
			staleAfterMs: 60_000,
			backend: 'redis',
			redisKey: key,
		}),
	);
	const blocked = await runCli('duckdb-safe-ingest', ['--db', db, '--redis', redis.url, '--json', '--', 'true']);
	assert.equal(blocked.json?.status, 'blocked', blocked.stderr);
	assert.equal(blocked.json?.holder?.pid, job.pid);
	assert.equal(await withClient((client) => client.read(key)), undefined, 'the blocked run gave its Redis key back');
	assert.equal(parsePidFile(readFileSync(`${db}.pid`, 'utf8')).kind, 'record', 'the PID file naming the job is kept');

	job.kill('SIGKILL');
	await new Promise((resolve) => job.once('exit', resolve));
	const next = await runCli('duckdb-safe-ingest', ['--db', db, '--redis', redis.url, '--json', '--', 'true']);
	assert.equal(next.json?.status, 'success', next.stderr);
	assert.match(
		next.json?.lock.recovered[0]?.detail ?? '',
		/job PID \d+ no longer exists.*; written under the Redis lock .* no longer holds/,
	);
});

test('a worker cut off from Redis stops its job before its lease can run out: the next holder never overlaps it', async () => {
	const db = freshDb();
	const relay = await startRelay(redis.port);
	const marks = join(dir.path, `marks-${Date.now()}`);
	mkdirSync(marks);
	// The first job ignores SIGTERM and writes a timestamp every 50 ms for as long as it lives.
	const cutOff = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--redis',
		relay.url,
		'--redis-key',
		'overlap',
		'--heartbeat',
		'200ms',
		'--stale-after',
		'2s',
		'--grace',
		'10s',
		'--json',
		'--',
		'sh',
		'-c',
		`trap "" TERM; while :; do date +%s%N >> ${marks}/a; sleep 0.05; done`,
	]);
	await recordedJob(db);
	// The Redis record names the job too (else the cut lands in the recording step: a different, also safe, failure).
	await waitForRedisJob(RedisLockClient.keyFor('overlap'));
	await relay.cut();
	const next = await runCli('duckdb-safe-ingest', [
		'--db',
		freshDb(),
		'--redis',
		redis.url,
		'--redis-key',
		'overlap',
		'--wait',
		'20s',
		'--json',
		'--',
		'sh',
		'-c',
		`date +%s%N > ${marks}/b`,
	]);
	assert.equal(next.json?.status, 'success', next.stderr);
	const stopped = await cutOff.result;
	assert.equal(stopped.json?.status, 'failed', stopped.stderr);
	assert.equal(stopped.json?.termination?.reason, 'lock-lost');
	assert.match(stopped.json?.error ?? '', /the lock was lost while the job ran/);
	const lastOfFirst = readFileSync(join(marks, 'a'), 'utf8')
		.trim()
		.split('\n')
		.map(BigInt)
		.reduce((a, b) => (a > b ? a : b));
	const firstOfNext = BigInt(readFileSync(join(marks, 'b'), 'utf8').trim());
	assert.ok(
		lastOfFirst < firstOfNext,
		`the cut-off job wrote until ${lastOfFirst}, the next holder started at ${firstOfNext}`,
	);
});

test('a dropped Redis connection is reconnected: the run keeps its lease and finishes', async () => {
	const db = freshDb();
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--redis',
		redis.url,
		'--heartbeat',
		'200ms',
		'--stale-after',
		'3s',
		'--json',
		'--',
		'sleep',
		'2.5',
	]);
	await recordedJob(db);
	await sleep(300);
	const admin = new Redis(redis.url);
	try {
		await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
	} finally {
		admin.disconnect();
	}
	const result = await run.result;
	assert.equal(result.json?.status, 'success', result.stderr);
	assert.equal(result.json?.lock.released, true, JSON.stringify(result.json?.lock));
	assert.ok((result.json?.lock.lease?.renewals ?? 0) >= 5);
});

test('a password in the Redis URL never reaches the PID file, the Redis holder record or the outcome', async () => {
	const db = freshDb();
	const url = redis.url.replace('redis://', 'redis://:topsecret@');
	const result = await runCli('duckdb-safe-ingest', ['--db', db, '--redis', url, '--json', '--', 'cat', `${db}.pid`]);
	assert.equal(result.json?.status, 'success', result.stderr);
	const pidFile = result.json?.output.stdout.tail ?? '';
	assert.match(pidFile, /supervisor_command=.*--redis redis:\/\/:\*\*\*@127\.0\.0\.1/);
	assert.ok(!`${result.stdout}${result.stderr}`.includes('topsecret'));
});

test('a job quicker than the Redis round trip still has all its output in the outcome', async () => {
	const db = freshDb();
	for (let run = 0; run < 30; run++) {
		const outcome = await runUnderLock({
			databasePath: db,
			command: ['echo', `run ${run}`],
			redis: { url: redis.url },
		});
		assert.equal(outcome.status, 'success', outcome.summary);
		assert.equal(outcome.output.stdout.tail, `run ${run}\n`);
	}
});
