/**
 * Attack suite, the lock file and what is recorded in it: secrets never written in clear, a record that always fits
 * (so a run never takes its own lock for someone else's), and every malformed lock file refused without being
 * touched. Real CLI processes, real files, a real redis-server.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
	chmodSync,
	chownSync,
	existsSync,
	lstatSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	readlinkSync,
	rmSync,
	statSync,
	symlinkSync,
	truncateSync,
	writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import Redis from 'ioredis';
import { join } from 'node:path';
import { MAX_PID_FILE_BYTES } from '../../lib/lock/pid-file-io';
import { parsePidFile, serializeRecord, type LockRecord } from '../../lib/lock/pid-file-format';
import { bootId, hostName, pidNamespace, readProcess } from '../../lib/proc/identity';
import { runCli, startCli } from '../helpers/cli';
import { sleep, stopAll, tempDir, track } from '../helpers/processes';
import { startRedis } from '../helpers/redis';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `db${++n}.duckdb`);
afterEach(() => stopAll());
after(() => dir.remove());

/** The PID file's text once it names the job (the run is under way). */
async function recordedWhileRunning(db: string): Promise<string> {
	for (let i = 0; i < 400; i++) {
		const text = existsSync(`${db}.pid`) ? readFileSync(`${db}.pid`, 'utf8') : '';
		if (/^role=job$/m.test(text)) return text;
		await sleep(10);
	}
	throw new Error(`${db}.pid never named the job`);
}

test('finding 4: --env values never appear in clear in the PID file (neither command= nor supervisor_command=)', async () => {
	const db = freshDb();
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--env',
		'API_KEY=hunter2-topsecret',
		'--env',
		'OTHER=plain-value-x',
		'--',
		'sleep',
		'1',
	]);
	const text = await recordedWhileRunning(db);
	const result = await run.result;
	assert.equal(result.code, 0, result.stderr);
	assert.ok(!text.includes('hunter2-topsecret') && !text.includes('plain-value-x'), text);
	assert.match(text, /^supervisor_command=.*--env API_KEY=\*{8}/m);
});

test('finding 9: 80 KB of arguments and a 70 KB owner still run: the record is bounded, the run keeps its own lock', async () => {
	const db = freshDb();
	const args = Array.from(
		{ length: 2000 },
		(_unused, index) => `argument-${String(index).padStart(4, '0')}-${'x'.repeat(28)}`,
	);
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--owner',
		'o'.repeat(70_000),
		'--json',
		'--',
		'sh',
		'-c',
		'sleep 0.5',
		'sh',
		...args,
	]);
	const text = await recordedWhileRunning(db);
	const result = await run.result;
	assert.equal(result.code, 0, result.stderr.slice(-2000));
	assert.equal(result.json?.status, 'success');
	assert.ok(Buffer.byteLength(text) < MAX_PID_FILE_BYTES, `${Buffer.byteLength(text)} bytes`);
	const parsed = parsePidFile(text);
	assert.equal(parsed.kind, 'record');
	assert.match(text, /^command=sh -c sleep 0\.5 sh argument-0000-.*…$/m, 'the command is cut, and says so');
	assert.equal(result.json?.command.length, args.length + 4, 'the outcome keeps the command as given');
});

test('held: a symlink, a FIFO, a folder, a 100 MB file or garbage at the lock path: refused (exit 125), left exactly as it was', async () => {
	const cases: Array<[string, (pidFile: string) => void, (pidFile: string) => void]> = [
		[
			'symlink',
			(pidFile) => symlinkSync(join(dir.path, 'precious.txt'), pidFile),
			(pidFile) => assert.equal(readlinkSync(pidFile), join(dir.path, 'precious.txt')),
		],
		['FIFO', (pidFile) => spawnSyncOk('mkfifo', [pidFile]), (pidFile) => assert.ok(lstatSync(pidFile).isFIFO())],
		['folder', (pidFile) => mkdirSync(pidFile), (pidFile) => assert.ok(lstatSync(pidFile).isDirectory())],
		[
			'100 MB file',
			(pidFile) => {
				writeFileSync(pidFile, '');
				truncateSync(pidFile, 100 * 1024 * 1024);
			},
			(pidFile) => assert.equal(statSync(pidFile).size, 100 * 1024 * 1024),
		],
		[
			'garbage',
			(pidFile) => writeFileSync(pidFile, 'not a pid\n'),
			(pidFile) => assert.equal(readFileSync(pidFile, 'utf8'), 'not a pid\n'),
		],
	];
	writeFileSync(join(dir.path, 'precious.txt'), 'precious');
	for (const [what, plant, unchanged] of cases) {
		const db = freshDb();
		plant(`${db}.pid`);
		const result = await runCli('duckdb-safe-ingest', ['--db', db, '--', 'touch', `${db}.ran`]);
		assert.equal(result.code, 125, `${what}: ${result.stderr}`);
		assert.match(result.stderr, /unreadable/, what);
		assert.equal(existsSync(`${db}.ran`), false, `${what}: the job never ran`);
		unchanged(`${db}.pid`);
	}
	assert.equal(readFileSync(join(dir.path, 'precious.txt'), 'utf8'), 'precious');
});

test('held: a lock file of mode 000 (as an unprivileged user who cannot read it) is refused, not replaced', async () => {
	const shared = mkdtempSync(join(tmpdir(), 'duckdb-safe-ingest-shared-'));
	try {
		chmodSync(shared, 0o777);
		const db = join(shared, 'db.duckdb');
		writeFileSync(`${db}.pid`, 'secret record\n', { mode: 0o000 });
		chmodSync(`${db}.pid`, 0o000);
		const result = await runCli('duckdb-safe-ingest', ['--db', db, '--', 'touch', join(shared, 'ran')], {
			prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
		});
		assert.equal(result.code, 125, result.stderr);
		assert.match(result.stderr, /unreadable.*cannot be opened \(EACCES\)/);
		assert.equal(existsSync(join(shared, 'ran')), false);
		assert.equal(readFileSync(`${db}.pid`, 'utf8'), 'secret record\n');
	} finally {
		rmSync(shared, { recursive: true, force: true });
	}
});

test("held: another user's lock file naming a live process blocks; naming a dead one is recovered", async () => {
	const live = track(spawn('sleep', ['30'], { stdio: 'ignore' }));
	const facts = readProcess(live.pid!)!;
	const record = (pid: number, pidStart: number | undefined): LockRecord => ({
		pid,
		role: 'supervisor',
		pidStart,
		command: 'sleep 30',
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		lockedAt: new Date().toISOString(),
		owner: 'another user',
		supervisor: { pid, startTicks: pidStart, command: 'sleep 30' },
		token: 'tok',
		heartbeatMs: 10_000,
		staleAfterMs: 60_000,
	});
	const held = freshDb();
	writeFileSync(`${held}.pid`, serializeRecord(record(live.pid!, facts.startTicks)));
	chownSync(`${held}.pid`, 65534, 65534);
	const blocked = await runCli('duckdb-safe-ingest', ['--db', held, '--', 'true']);
	assert.equal(blocked.code, 1, blocked.stderr);
	assert.match(blocked.stderr, new RegExp(`held by PID ${live.pid}`));
	assert.equal(statSync(`${held}.pid`).uid, 65534, 'left in place');
	live.kill('SIGKILL');
	await new Promise((resolve) => live.once('exit', resolve));
	const recovered = await runCli('duckdb-safe-ingest', ['--db', held, '--json', '--', 'true']);
	assert.equal(recovered.code, 0, recovered.stderr);
	assert.equal(recovered.json?.lock.recovered[0]?.reason, 'dead');
});

test('held: PID 1 named as the job in a lock file is never signalled by the cleanup', async () => {
	const db = freshDb();
	writeFileSync(db, '');
	const init = readProcess(1)!;
	const record: LockRecord = {
		pid: 1,
		role: 'job',
		pidStart: init.startTicks,
		pgid: 1,
		command: 'init',
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		lockedAt: new Date().toISOString(),
		owner: 'forged',
		supervisor: { pid: 4_000_000, startTicks: 1, command: 'gone' },
		token: 'tok',
		heartbeatMs: 10_000,
		staleAfterMs: 60_000,
	};
	writeFileSync(`${db}.pid`, serializeRecord(record));
	const result = await runCli('duckdb-lock-cleanup', ['--db', db, '--stop-stuck', '0s', '--yes', '--json']);
	assert.equal(result.code, 1, result.stderr);
	assert.doesNotMatch(result.stderr, /^done: stop-holder/m);
	assert.equal(readProcess(1)?.startTicks, init.startTicks);
	assert.ok(existsSync(`${db}.pid`));
});

test('held: a Redis password (also one with an unencoded @) appears nowhere: PID file, Redis holder, outcome, log, stderr', async () => {
	for (const password of ['s3cret-redis-pass', 'pa@ss-w0rd']) {
		const redis = await startRedis({ password });
		try {
			const db = freshDb();
			const log = join(dir.path, `redis${n}.log`);
			const url = `redis://:${password}@127.0.0.1:${redis.port}/0`;
			const run = startCli('duckdb-safe-ingest', [
				'--db',
				db,
				'--redis',
				url,
				'--log-file',
				log,
				'--json',
				'--',
				'sleep',
				'0.5',
			]);
			const text = await recordedWhileRunning(db);
			const holder = await redisGet(redis.port, password, `duckdb-safe-ingest:lock:${db}:holder`);
			const result = await run.result;
			assert.equal(result.code, 0, result.stderr);
			for (const [where, value] of [
				['PID file', text],
				['Redis holder', holder],
				['outcome', result.stdout],
				['log', readFileSync(log, 'utf8')],
				['stderr', result.stderr],
			]) {
				assert.ok(!value.includes(password), `${where} holds the password: ${value.slice(0, 400)}`);
				assert.ok(!value.includes(password.slice(password.indexOf('@') + 1)), `${where} holds part of the password`);
			}
		} finally {
			await redis.stop();
		}
	}
});

test('held: bad durations are usage errors (125) with a message, and nothing is created', async () => {
	for (const args of [
		['--timeout', 'abc'],
		['--timeout', '-5'],
		['--timeout', '1e9'],
		['--timeout', '0'],
		['--grace', '10x'],
		['--wait', 'NaN'],
		['--heartbeat', '1ms'],
		['--stale-after', '0'],
		['--timeout', '25d'],
	]) {
		const db = freshDb();
		const result = await runCli('duckdb-safe-ingest', ['--db', db, ...args, '--', 'true']);
		assert.equal(result.code, 125, `${args.join(' ')}: ${result.stderr}`);
		assert.match(result.stderr, /error: .+/, args.join(' '));
		assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
		assert.equal(existsSync(`${db}.pid`), false);
	}
});

function spawnSyncOk(command: string, args: string[]): void {
	const { status } = spawnSync(command, args);
	assert.equal(status, 0, `${command} ${args.join(' ')}`);
}

async function redisGet(port: number, password: string, key: string): Promise<string> {
	const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true });
	await client.connect();
	try {
		return (await client.get(key)) ?? '';
	} finally {
		client.disconnect();
	}
}
