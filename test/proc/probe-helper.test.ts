/**
 * The probe's fast paths keep its guarantees: /proc alone decides only where it is conclusive (the initial PID
 * namespace, a local filesystem), a holder in another PID namespace is still found through the resident probe
 * helper, and the helper never holds the database between probes and goes away with its parent.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { filesystemOf, judgeVisibility, INITIAL_PID_NAMESPACE, type Mount } from '../../lib/proc/lock-visibility';
import { findDatabaseHolders } from '../../lib/duckdb/database-holders';
import { probeDatabase, probeHelper, WORKER_SCRIPT } from '../../lib/duckdb/probe';
import { ResidentScript } from '../../lib/proc/resident-script';
import { fileLocks, majorMinor } from '../../lib/proc/file-holders';
import { parseLockConflict } from '../../lib/duckdb/lock-conflict';
import { pidNamespace, readProcess } from '../../lib/proc/identity';
import { fixture, nodeChild, sleep, stopAll, tempDir } from '../helpers/processes';

const dir = tempDir();
after(() => {
	probeHelper.stop();
	dir.remove();
});
afterEach(stopAll);

let count = 0;
async function existingDb(): Promise<string> {
	const db = join(dir.path, `probe-${++count}.duckdb`);
	const instance = await DuckDBInstance.create(db);
	instance.closeSync();
	return db;
}

const MOUNTINFO = [
	'22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
	'30 22 0:40 / /mnt/market rw shared:9 - nfs4 server:/export rw,vers=4.2',
	'31 22 0:41 / /mnt/my\\040data rw - fuse.sshfs host:/data rw',
	'32 30 0:42 / /mnt/market/scratch rw - tmpfs tmpfs rw',
	'33 22 0:43 / /srv rw - ext4 /dev/sdb1 rw',
	'34 22 0:44 / /srv rw - cifs //nas/srv rw',
].join('\n');

test('the filesystem of a path is the longest mount point above it, the last mount at a point winning', () => {
	assert.equal(filesystemOf('/home/me/db', MOUNTINFO), 'ext4');
	assert.equal(filesystemOf('/mnt/market', MOUNTINFO), 'nfs4');
	assert.equal(filesystemOf('/mnt/market/daily', MOUNTINFO), 'nfs4');
	assert.equal(filesystemOf('/mnt/market/scratch/x', MOUNTINFO), 'tmpfs');
	assert.equal(filesystemOf('/mnt/marketing', MOUNTINFO), 'ext4', 'a longer name is not inside the mount');
	assert.equal(filesystemOf('/mnt/my data/x', MOUNTINFO), 'fuse.sshfs', 'escaped spaces in mount points');
	assert.equal(filesystemOf('/srv/db', MOUNTINFO), 'cifs', 'mounted over');
	assert.equal(filesystemOf('/x', ''), undefined);
});

test('/proc is conclusive only in the initial PID namespace on a known local filesystem, for a file on that mount', () => {
	const mount = (type: string): Mount => ({ point: '/', type, device: '8:1' });
	assert.equal(judgeVisibility(INITIAL_PID_NAMESPACE, mount('ext4'), '8:1').conclusive, true);
	assert.equal(judgeVisibility(INITIAL_PID_NAMESPACE, mount('overlay'), '8:1').conclusive, true);
	for (const network of ['nfs4', 'nfs', 'cifs', 'smb3', 'fuse.sshfs', 'fuse', '9p', 'ceph', 'glusterfs', 'weird'])
		assert.equal(judgeVisibility(INITIAL_PID_NAMESPACE, mount(network), '8:1').conclusive, false, network);
	assert.equal(judgeVisibility(INITIAL_PID_NAMESPACE, undefined).conclusive, false);
	assert.match(
		judgeVisibility(INITIAL_PID_NAMESPACE, mount('btrfs'), '0:52').why,
		/device 0:52 is not its mount's 8:1/,
	);
	assert.match(judgeVisibility('pid:[4026532181]', mount('ext4'), '8:1').why, /not the initial one/);
	assert.equal(judgeVisibility('', mount('ext4'), '8:1').conclusive, false);
});

test("DuckDB's lock conflict is read with and without a program name (PID 0: a holder DuckDB cannot see)", () => {
	const where = 'IO Error: Could not set lock on file "/d/x.duckdb": Conflicting lock is held in';
	const tail = 'See also https://duckdb.org/docs/stable/connect/concurrency';
	assert.deepEqual(parseLockConflict(`${where} /usr/bin/python3 (PID 3871) by user ops. ${tail}`), {
		program: '/usr/bin/python3',
		pid: 3871,
		user: 'ops',
		readersOnly: false,
	});
	const unseen = parseLockConflict(`${where} PID 0. ${tail}`);
	assert.equal(unseen?.pid, 0);
	assert.match(unseen?.program ?? '', /another PID namespace/);
	assert.equal(parseLockConflict('IO Error: Cannot open file "/d/x.duckdb": Permission denied'), undefined);
});

test('on a network filesystem or behind a symlink into one (a faked mount table) the probe is still asked; on a local one only outside the initial namespace', async () => {
	const db = await existingDb();
	const { major, minor } = majorMinor(statSync(db).dev);
	const nfs = `22 1 ${major}:${minor} / / rw - nfs4 server:/ rw`;
	const local = `22 1 ${major}:${minor} / / rw - ext4 /dev/sda1 rw`;
	const initial = pidNamespace() === INITIAL_PID_NAMESPACE;
	const probes = async (path: string, mountinfo: string): Promise<number> => {
		const before = probeHelper.requests;
		assert.deepEqual(await findDatabaseHolders(path, { probe: true, mountinfo }), []);
		return probeHelper.requests - before;
	};
	assert.equal(await probes(db, nfs), 1, 'the probe answered for the network filesystem');
	assert.equal(await probes(db, local), initial ? 0 : 1, `/proc decides alone: ${initial}`);
	// The file's device is not the mount's (a btrfs subvolume): /proc/locks would not match it.
	assert.equal(await probes(db, `22 1 0:999 / / rw - btrfs /dev/sda1 rw`), 1);
	// A link in a local folder to a database on the network mount: the file's real place decides.
	const remote = join(dir.path, 'remote');
	mkdirSync(remote);
	const real = join(remote, 'real.duckdb');
	(await DuckDBInstance.create(real)).closeSync();
	const link = join(dir.path, `link-${count}.duckdb`);
	symlinkSync(real, link);
	const linked = `${local}\n40 22 ${major}:${minor} / ${remote} rw - nfs4 server:/x rw`;
	assert.equal(await probes(link, linked), 1, 'followed into the NFS mount');
});

test('a holder in another PID namespace is still found, through the probe helper', async () => {
	const db = await existingDb();
	const holder = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'write' })]);
	await holder.next('ready');
	// The check runs in a new PID namespace (n8n in a container): the holder outside it is hidden from its /proc.
	const checker = nodeChild('holders-check', [db], ['unshare', '--pid', '--fork', '--mount-proc']);
	const report = await checker.next<{ holders: Array<{ pid: number | null; lock: string; source: string }> }>(
		'checked',
	);
	assert.equal(report.holders.length, 1, JSON.stringify(report));
	assert.equal(report.holders[0].lock, 'write');
	assert.equal(report.holders[0].source, 'duckdb-probe');
	assert.equal(report.holders[0].pid, null, 'named as a holder in another namespace');
	assert.equal((report as unknown as { requests: number }).requests, 1);
	await checker.exited;
});

test('the probe helper holds nothing between probes: a read-write open from another process succeeds while it idles', async () => {
	const db = await existingDb();
	assert.deepEqual(await probeDatabase(db), { held: false });
	assert.deepEqual(await probeDatabase(db), { held: false });
	const helper = probeHelper.pid;
	assert.ok(helper && readProcess(helper), 'the helper is alive and idle');
	assert.deepEqual(
		fileLocks(db).filter((entry) => entry.pid === helper),
		[],
	);
	const writer = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'write' })]);
	await writer.next('ready');
	const held = await probeDatabase(db);
	assert.equal(held.held && held.pid, writer.pid, 'the same helper now sees the writer');
	assert.equal(probeHelper.pid, helper, 'one helper served every probe');
});

test('the probe helper exits when idle and at once when its parent goes away; the next probe starts a new one', async () => {
	const db = await existingDb();
	const idle = new ResidentScript(WORKER_SCRIPT, ['serve', '300']);
	const answer = await idle.request({ path: db }, 10_000);
	assert.deepEqual(answer, { reply: { held: false } });
	const first = idle.pid!;
	for (let i = 0; i < 100 && readProcess(first); i++) await sleep(50);
	assert.equal(readProcess(first), undefined, 'idle: exited by itself');
	assert.deepEqual(await idle.request({ path: db }, 10_000), { reply: { held: false } });
	assert.equal(idle.started, 2);
	idle.stop();

	// The parent probes as on a network filesystem, so that it uses a helper wherever this test runs.
	const parent = nodeChild('holders-check', [db, 'stay', 'network']);
	const report = await parent.next<{ helperPid: number }>('checked');
	assert.ok(readProcess(report.helperPid), 'the parent has a probe helper');
	parent.child.kill('SIGKILL');
	await parent.exited;
	for (let i = 0; i < 100 && readProcess(report.helperPid); i++) await sleep(50);
	assert.equal(readProcess(report.helperPid), undefined, 'its parent gone, the helper ended');
});

test('helpers serve one request each: a slow one holds up no other, one killed for its timeout takes no other request with it, and no more than the most run', async () => {
	const pool = new ResidentScript(fixture('resident-echo'), [], 2);
	try {
		const slow = pool.request({ delayMs: 60_000 }, 4000);
		const quick = pool.request({ delayMs: 0 }, 5000);
		const firstDone = await Promise.race([slow.then(() => 'slow'), quick.then(() => 'quick')]);
		assert.equal(firstDone, 'quick', 'the quick request was not held up behind the slow one');
		assert.ok('reply' in (await quick), JSON.stringify(await quick));
		assert.deepEqual(await slow, { failed: 'no answer within 4000 ms', timedOut: true });
		const after = await pool.request({ delayMs: 0 }, 5000);
		assert.ok('reply' in after, "a new helper took the killed one's place");
		const many = await Promise.all([0, 1, 2, 3].map(() => pool.request({ delayMs: 200 }, 10_000)));
		const pids = new Set(many.map((answer) => ('reply' in answer ? answer.reply.pid : undefined)));
		assert.ok(!pids.has(undefined), JSON.stringify(many));
		assert.ok(pids.size <= 2, `at most two helpers at once: ${[...pids].join(', ')}`);
		assert.ok(pool.size <= 2);
	} finally {
		pool.stop();
	}
});
