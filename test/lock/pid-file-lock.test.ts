/**
 * The lock against real processes: live holders, dead and reused PIDs (with a fresh PID namespace), zombies, legacy
 * files, other hosts, garbage and planted symlinks.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	closeSync,
	existsSync,
	lstatSync,
	openSync,
	readFileSync,
	readlinkSync,
	statSync,
	symlinkSync,
	unlinkSync,
	writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { acquireLock } from '../../lib/lock/pid-file-lock';
import { parsePidFile, serializeRecord, pidFilePathFor } from '../../lib/lock/pid-file-format';
import { readProcess } from '../../lib/proc/identity';
import { UsageError } from '../../lib/base/errors';
import { fixture, JsonChild, nodeChild, sleep, stopAll, tempDir } from '../helpers/processes';
import { inspectLock } from '../../lib/lock/judge-pid-file';
import { releaseByToken } from '../../lib/lock/held-pid-file';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `db${++n}.duckdb`);
type AcquireEvent = {
	acquired: boolean;
	decidedAt: number;
	reason?: string;
	recovered: Array<{ reason: string; previous: { record?: { pid: number } } }>;
	inspection?: { state: string };
};

afterEach(() => stopAll());
after(() => dir.remove());

async function holderOf(db: string, prefix: string[] = []): Promise<{ actor: JsonChild; pid: number }> {
	const actor = nodeChild('lock-actor', [], prefix);
	const ready = await actor.next<{ pid: number }>('ready');
	actor.send({ cmd: 'acquire', db });
	const result = await actor.next<AcquireEvent>('acquire');
	assert.equal(result.acquired, true, `holder could not acquire: ${JSON.stringify(result)}`);
	return { actor, pid: ready.pid };
}

test('a live holder blocks; its PID file names it on line 1; release removes the file', async () => {
	const db = freshDb();
	const { actor } = await holderOf(db);
	const text = readFileSync(pidFilePathFor(db), 'utf8');
	assert.equal(Number(text.split('\n')[0]), actor.pid);
	const parsed = parsePidFile(text);
	assert.equal(parsed.kind === 'record' && parsed.record.pidStart, readProcess(actor.pid)!.startTicks);

	const attempt = await acquireLock(db);
	assert.equal(attempt.acquired, false);
	assert.ok(!attempt.acquired && attempt.reason === 'held' && attempt.inspection.state === 'held');
	assert.equal(
		!attempt.acquired &&
			attempt.reason === 'held' &&
			attempt.inspection.state === 'held' &&
			attempt.inspection.holder.pid,
		actor.pid,
	);
	assert.equal(readFileSync(pidFilePathFor(db), 'utf8'), text, "a blocked attempt leaves the holder's file untouched");

	actor.send({ cmd: 'release' });
	await actor.next('release');
	assert.equal(existsSync(pidFilePathFor(db)), false);
	const mine = await acquireLock(db);
	assert.ok(mine.acquired);
	assert.deepEqual(mine.acquired && mine.lock.release(), { released: true });
	assert.equal(mine.acquired && mine.lock.release().released, false, 'releasing twice is harmless');
});

test('waiting: acquires once the holder releases within the wait; gives up after it', async () => {
	const db = freshDb();
	const { actor } = await holderOf(db);
	const started = Date.now();
	const gaveUp = await acquireLock(db, { waitMs: 400, pollMs: 50 });
	assert.equal(gaveUp.acquired, false);
	assert.ok(Date.now() - started >= 400, 'waited the full wait');
	setTimeout(() => actor.send({ cmd: 'release' }), 300);
	const got = await acquireLock(db, { waitMs: 20_000, pollMs: 50 });
	assert.ok(got.acquired, 'acquired after the release');
	assert.ok(got.waitedMs >= 250 && got.waitedMs < 10_000, `waited ${got.waitedMs} ms`);
	got.lock.release();
});

test('an abort while waiting returns canceled and creates nothing', async () => {
	const db = freshDb();
	const { actor } = await holderOf(db);
	const before = readFileSync(pidFilePathFor(db), 'utf8');
	const controller = new AbortController();
	setTimeout(() => controller.abort(), 200);
	const result = await acquireLock(db, { waitMs: 60_000, signal: controller.signal });
	assert.equal(!result.acquired && result.reason, 'canceled');
	assert.ok(result.waitedMs < 10_000);
	assert.equal(readFileSync(pidFilePathFor(db), 'utf8'), before);
	actor.send({ cmd: 'release' });
	await actor.next('release');
});

test("stale by dead PID: a crashed holder's lock is recovered with its details", async () => {
	const db = freshDb();
	const { actor } = await holderOf(db);
	actor.send({ cmd: 'crash' });
	await actor.exited;
	const inspection = await inspectLock(db);
	assert.equal(inspection.state === 'stale' && inspection.reason, 'dead');
	const result = await acquireLock(db);
	assert.ok(result.acquired);
	assert.equal(result.recovered.length, 1);
	assert.equal(result.recovered[0].reason, 'dead');
	assert.equal(result.recovered[0].previous.kind === 'record' && result.recovered[0].previous.record.pid, actor.pid);
	result.lock.release();
});

test('a container restart (fresh PID namespace, PID 1 alive again) is not fooled by PID reuse: the lease decides', async () => {
	const db = freshDb();
	const namespace = ['unshare', '--pid', '--fork', '--mount-proc'];
	const lease = { heartbeatMs: 300, staleAfterMs: 1500 };
	const first = nodeChild('lock-actor', [], namespace);
	assert.equal((await first.next<{ pid: number }>('ready')).pid, 1, 'inside a new PID namespace the actor is PID 1');
	// Keep the first namespace's inode taken after its processes are gone (`unshare` created it for its child), or the
	// kernel may give the next namespace the same number: that one would then rightly judge PID 1 by its start time.
	const firstNamespace = openSync(`/proc/${first.pid}/ns/pid_for_children`, 'r');
	after(() => closeSync(firstNamespace));
	first.send({ cmd: 'acquire', db, ...lease });
	assert.equal((await first.next<AcquireEvent>('acquire')).acquired, true);
	first.send({ cmd: 'crash' });
	await first.exited;
	const recorded = parsePidFile(readFileSync(pidFilePathFor(db), 'utf8'));
	assert.equal(recorded.kind === 'record' && recorded.record.pid, 1);
	// Its last heartbeat is the file's modification time (this actor keeps no lease running).
	const crashedAt = statSync(pidFilePathFor(db)).mtimeMs;

	// "After the restart": a new namespace where PID 1 is alive again, but it is another process in another namespace.
	const second = nodeChild('lock-actor', [], namespace);
	assert.equal((await second.next<{ pid: number }>('ready')).pid, 1);
	second.send({ cmd: 'acquire', db, ...lease });
	const early = await second.next<AcquireEvent>('acquire');
	if (Date.now() - crashedAt < lease.staleAfterMs) {
		assert.equal(early.acquired, false, 'within the stale period the old holder still counts');
		assert.match(JSON.stringify(early.inspection), /another PID namespace on this machine/);
	}
	second.send({ cmd: 'acquire', db, waitMs: 10_000, ...lease });
	const result = await second.next<AcquireEvent>('acquire');
	assert.equal(result.acquired, true, JSON.stringify(result));
	assert.equal(result.recovered[0]?.reason, 'lease-expired');
	assert.ok(result.decidedAt - crashedAt >= lease.staleAfterMs, 'not before the stale period after its last heartbeat');
	second.send({ cmd: 'release' });
	await second.next('release');
});

test('a zombie holder (exited, never reaped) is stale', async () => {
	const db = freshDb();
	// sh starts the actor in the background, then becomes `sleep`, which never reaps it.
	const commands = [JSON.stringify({ cmd: 'acquire', db }), JSON.stringify({ cmd: 'crash' })]
		.map((line) => `'${line}'`)
		.join(' ');
	const actor = `${JSON.stringify(process.execPath)} ${JSON.stringify(fixture('lock-actor'))}`;
	const script = `printf '%s\\n' ${commands} | ${actor} >/dev/null & exec sleep 60`;
	const parent = spawn('sh', ['-c', script], { stdio: 'ignore' });
	try {
		let zombiePid = 0;
		for (let i = 0; i < 200 && !zombiePid; i++) {
			await sleep(50);
			const parsed = existsSync(pidFilePathFor(db))
				? parsePidFile(readFileSync(pidFilePathFor(db), 'utf8'))
				: undefined;
			const pid = parsed?.kind === 'record' ? parsed.record.pid : 0;
			if (pid && readProcess(pid)?.state === 'Z') zombiePid = pid;
		}
		assert.ok(zombiePid > 0, 'the holder became a zombie');
		assert.equal(readProcess(zombiePid)!.ppid, parent.pid, 'its parent is the non-reaping sleep we started');
		const result = await acquireLock(db);
		assert.ok(result.acquired);
		assert.equal(result.recovered[0].reason, 'zombie');
		result.lock.release();
	} finally {
		parent.kill('SIGKILL');
	}
});

test('legacy PID-only file: dead PID is stale, live PID is held (reuse cannot be ruled out)', async () => {
	const db = freshDb();
	const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
	try {
		writeFileSync(pidFilePathFor(db), `${sleeper.pid}\n`);
		const blocked = await acquireLock(db);
		assert.equal(blocked.acquired, false);
		const inspection = await inspectLock(db);
		assert.ok(inspection.state === 'held' && inspection.holder.role === 'legacy' && !inspection.holder.identityProven);
		assert.equal(inspection.state === 'held' && inspection.holder.pid, sleeper.pid);
	} finally {
		sleeper.kill('SIGKILL');
	}
	await new Promise((resolve) => sleeper.once('exit', resolve));
	const recovered = await acquireLock(db);
	assert.ok(recovered.acquired, 'the same file is stale once its PID is dead');
	assert.deepEqual(recovered.recovered[0].previous, { kind: 'legacy', pid: sleeper.pid });
	recovered.lock.release();
});

test('a lock written on another host is held (remote) and never removed by local checks', async () => {
	const db = freshDb();
	const text = serializeRecord({
		pid: 999_999,
		role: 'job',
		command: 'python3 ingest.py',
		host: 'worker-on-another-host',
		bootId: 'x',
		pidNamespace: '',
		lockedAt: new Date().toISOString(),
		owner: 'elsewhere',
		supervisor: { pid: 999_998, command: 'n8n' },
		token: 't',
	});
	writeFileSync(pidFilePathFor(db), text);
	const result = await acquireLock(db);
	assert.ok(
		!result.acquired && result.reason === 'held' && result.inspection.state === 'held' && result.inspection.remote,
	);
	assert.equal(readFileSync(pidFilePathFor(db), 'utf8'), text);
});

test('garbage, empty and huge PID files are unreadable, count as held, and are never deleted', async () => {
	for (const content of ['garbage\n', '', 'x'.repeat(10 * 1024 * 1024)]) {
		const db = freshDb();
		writeFileSync(pidFilePathFor(db), content);
		const result = await acquireLock(db);
		assert.ok(
			!result.acquired && result.reason === 'held' && result.inspection.state === 'unreadable',
			`content of ${content.length} bytes`,
		);
		assert.equal((await inspectLock(db)).state, 'unreadable');
		assert.equal(readFileSync(pidFilePathFor(db), 'utf8').length, content.length, 'left exactly as it was');
	}
});

test('a lock file still empty because its creator paused after creating it is waited for (up to 2 s), then read', async () => {
	const db = freshDb();
	const heldDb = freshDb();
	const { actor, pid } = await holderOf(heldDb);
	const record = readFileSync(pidFilePathFor(heldDb), 'utf8');
	writeFileSync(pidFilePathFor(db), '');
	const writer = sleep(500).then(() => writeFileSync(pidFilePathFor(db), record));
	const result = await acquireLock(db);
	await writer;
	assert.ok(
		!result.acquired && result.reason === 'held' && result.inspection.state === 'held',
		`held, not unreadable: ${JSON.stringify(!result.acquired && result.reason === 'held' ? result.inspection : result)}`,
	);
	assert.equal(result.inspection.holder.pid, pid);
	actor.send({ cmd: 'release' });
	await actor.next('release');
});

test('abandoning a lock marks its file (only while it is ours) and leaves it in place', async () => {
	const db = freshDb();
	const result = await acquireLock(db);
	assert.ok(result.acquired);
	assert.equal(result.lock.abandon(), true);
	const parsed = parsePidFile(readFileSync(pidFilePathFor(db), 'utf8'));
	assert.ok(parsed.kind === 'record' && parsed.record.abandonedAt, 'marked');
	assert.equal(result.lock.release().released, false, 'an abandoned lock is not released by its supervisor');
	assert.ok(existsSync(pidFilePathFor(db)));
	unlinkSync(pidFilePathFor(db));
	writeFileSync(pidFilePathFor(db), 'someone else\n');
	assert.equal(result.lock.abandon(), false, 'a file that is no longer ours is left alone');
	assert.equal(readFileSync(pidFilePathFor(db), 'utf8'), 'someone else\n');
});

test('a symlink planted at the PID path is not followed; its target is untouched', async () => {
	const db = freshDb();
	const target = join(dir.path, 'precious.txt');
	writeFileSync(target, 'precious');
	symlinkSync(target, pidFilePathFor(db));
	const result = await acquireLock(db);
	assert.ok(!result.acquired && result.reason === 'held' && result.inspection.state === 'unreadable');
	assert.match(
		!result.acquired && result.reason === 'held' && result.inspection.state === 'unreadable'
			? result.inspection.reason
			: '',
		/symbolic link/,
	);
	assert.equal(readFileSync(target, 'utf8'), 'precious');
	assert.equal(readlinkSync(pidFilePathFor(db)), target);

	const dangling = freshDb();
	const nowhere = join(dir.path, 'nowhere.txt');
	symlinkSync(nowhere, pidFilePathFor(dangling));
	assert.equal((await acquireLock(dangling)).acquired, false);
	assert.equal(existsSync(nowhere), false, "a dangling symlink's target is not created");
	assert.ok(lstatSync(pidFilePathFor(dangling)).isSymbolicLink());
});

test('release by a non-owner is refused and the holder keeps its lock', async () => {
	const db = freshDb();
	const { actor } = await holderOf(db);
	const before = readFileSync(pidFilePathFor(db), 'utf8');
	const refused = releaseByToken(pidFilePathFor(db), 'not-the-token');
	assert.equal(refused.released, false);
	assert.equal(!refused.released && refused.reason, 'not-owner');
	assert.equal(readFileSync(pidFilePathFor(db), 'utf8'), before);
	actor.send({ cmd: 'release' });
	assert.deepEqual((await actor.next<{ result: unknown }>('release')).result, { released: true });
});

test('recordJob puts the job on line 1 and keeps the supervisor below; a crash of either stays identifiable', async () => {
	const db = freshDb();
	const result = await acquireLock(db, { owner: 'workflow 1 execution 2' });
	assert.ok(result.acquired);
	const job = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
	try {
		const facts = readProcess(job.pid!)!;
		result.lock.recordJob({ pid: job.pid!, startTicks: facts.startTicks, pgid: facts.pgid, command: 'sleep 30' });
		const text = readFileSync(pidFilePathFor(db), 'utf8');
		assert.equal(text.split('\n')[0], String(job.pid));
		const parsed = parsePidFile(text);
		assert.ok(parsed.kind === 'record');
		assert.equal(parsed.record.role, 'job');
		assert.equal(parsed.record.pgid, job.pid, 'the job leads its own process group');
		assert.equal(parsed.record.supervisor.pid, process.pid);
		assert.equal(parsed.record.owner, 'workflow 1 execution 2');
		const inspection = await inspectLock(db);
		assert.ok(inspection.state === 'held' && inspection.holder.role === 'job' && inspection.holder.identityProven);
	} finally {
		job.kill('SIGKILL');
	}
	await new Promise((resolve) => job.once('exit', resolve));
	const supervisorStillHolds = await inspectLock(db);
	assert.ok(supervisorStillHolds.state === 'held' && supervisorStillHolds.holder.role === 'supervisor');
	assert.deepEqual(result.lock.release(), { released: true });
});

test('a missing database folder is a clear usage error and creates nothing', async () => {
	const db = join(dir.path, 'no-such-folder', 'x.duckdb');
	await assert.rejects(
		acquireLock(db),
		(error: unknown) => error instanceof UsageError && /does not exist/.test(error.message),
	);
	assert.equal(existsSync(join(dir.path, 'no-such-folder')), false);
});

test('a lock file replaced by the next holder (even on the same inode number) is never taken for ours: no heartbeat, no release', async () => {
	const db = freshDb();
	const first = await acquireLock(db);
	assert.ok(first.acquired);
	// Someone wrongly removes the file and another run takes the lock; the filesystem may reuse the inode number.
	unlinkSync(pidFilePathFor(db));
	const second = await acquireLock(db);
	assert.ok(second.acquired);
	assert.equal(first.lock.heartbeat(), false, 'the old holder sees it lost the lock');
	assert.equal(first.lock.release().released, false);
	assert.equal(existsSync(pidFilePathFor(db)), true, 'the new holder keeps its file');
	assert.equal(second.lock.heartbeat(), true);
	assert.equal(second.lock.release().released, true);
});
