/** The supervised run against real processes: timeouts, whole-group kill, escaped pipes, output, cancellation. */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runUnderLock } from '../../lib/run/supervise';
import { groupMembers, signalGroup } from '../../lib/proc/group';
import { readProcess } from '../../lib/proc/identity';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import type { Outcome } from '../../lib/outcome/outcome';
import { exitCodeFor } from '../../lib/outcome/status';
import { UsageError } from '../../lib/base/errors';
import { nodeChild, sleep, stopAll, tempDir, track } from '../helpers/processes';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `run${++n}.duckdb`);
/** Processes that escaped a job's group on purpose (setsid, so each leads its own group), with their start time. */
const escaped: Array<{ pgid: number; leaderStartTicks: number }> = [];
afterEach(() => stopAll());
after(() => {
	// They are ours to stop: by group, only while the leader is still the process we saw (identity re-checked).
	for (const group of escaped) signalGroup(group, 'SIGKILL');
	dir.remove();
});

function assertGroupGone(outcome: Outcome): void {
	assert.ok(outcome.jobPid, 'the job started');
	assert.deepEqual(
		groupMembers(outcome.jobPid!).map((member) => `${member.pid} ${member.name}`),
		[],
		'no process of the job group survives',
	);
	assert.equal(existsSync(`${outcome.database}.pid`), false, 'the PID file is removed');
	assert.equal(outcome.lock.released, true);
}

test('success: exit 0, output tails, lock taken and released, the PID file named the job while it ran', async () => {
	const db = freshDb();
	let seenLineOne = '';
	const outcome = await runUnderLock(
		{ databasePath: db, command: ['sh', '-c', 'echo out-line; echo err-line >&2; exit 0'] },
		{
			onEvent: (event) => {
				if (event.type === 'job-started') seenLineOne = readFileSync(`${db}.pid`, 'utf8').split('\n')[0];
			},
		},
	);
	assert.equal(outcome.status, 'success');
	assert.equal(outcome.exitCode, 0);
	assert.equal(seenLineOne, String(outcome.jobPid), 'line 1 of the PID file was the job while it ran');
	assert.deepEqual(outcome.output.stdout, { tail: 'out-line\n', bytes: 9, truncated: false });
	assert.equal(outcome.output.stderr.tail, 'err-line\n');
	assert.match(outcome.summary, /^Success: sh -c .* finished in .* on run\d+\.duckdb$/);
	assert.equal(exitCodeFor(outcome), 0);
	assertGroupGone(outcome);
});

test('a silent hang times out: SIGTERM to the group, no SIGKILL needed, outcome timeout', async () => {
	const db = freshDb();
	const started = Date.now();
	const outcome = await runUnderLock({ databasePath: db, command: ['sleep', '600'], timeoutMs: 700, graceMs: 700 });
	assert.equal(outcome.status, 'timeout');
	assert.equal(outcome.termination?.reason, 'timeout');
	assert.equal(outcome.termination?.sigkillSent, false);
	assert.equal(outcome.signal, 'SIGTERM');
	assert.ok(Date.now() - started < 30_000, 'terminates');
	assert.equal(exitCodeFor(outcome), 124);
	assertGroupGone(outcome);
});

test('a job that ignores SIGTERM is SIGKILLed after the grace period', async () => {
	const db = freshDb();
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['sh', '-c', 'trap "" TERM; sleep 600 & wait; sleep 600'],
		timeoutMs: 800,
		graceMs: 700,
	});
	assert.equal(outcome.status, 'timeout');
	assert.equal(outcome.termination?.sigkillSent, true);
	assert.ok(
		(outcome.termination?.groupGoneAfterMs ?? 0) >= 700,
		`the grace was honoured (${outcome.termination?.groupGoneAfterMs} ms)`,
	);
	assert.match(outcome.summary, /SIGKILL after/);
	assertGroupGone(outcome);
});

test('grandchildren holding stdout open: the outcome comes promptly and the whole group is gone', async () => {
	const db = freshDb();
	const started = Date.now();
	// The main process exits at once with success; two background grandchildren keep stdout and stderr open.
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['sh', '-c', 'sleep 600 & (sleep 600 >&2 &) ; echo parent-done'],
		timeoutMs: 60_000,
		graceMs: 2000,
	});
	assert.ok(Date.now() - started < 20_000, 'did not wait for the pipes');
	assert.equal(outcome.status, 'success');
	assert.equal(outcome.termination?.reason, 'stray-processes');
	assert.match(outcome.output.stdout.tail, /parent-done/);
	assertGroupGone(outcome);

	// Timed out with grandchildren: same.
	const hung = await runUnderLock({
		databasePath: freshDb(),
		command: ['sh', '-c', 'sleep 600 & sleep 600 & sleep 600'],
		timeoutMs: 1000,
		graceMs: 1000,
	});
	assert.equal(hung.status, 'timeout');
	assertGroupGone(hung);
});

test('a process that escaped the group (setsid) and holds stdout does not hang the outcome', async () => {
	const db = freshDb();
	const started = Date.now();
	const outcome = await runUnderLock({
		databasePath: db,
		command: ['sh', '-c', "setsid sh -c 'echo escaped=$$; exec sleep 600' & sleep 0.3; echo main-done"],
		timeoutMs: 60_000,
		graceMs: 1000,
	});
	const pid = Number(/escaped=(\d+)/.exec(outcome.output.stdout.tail)?.[1]);
	const facts = pid > 0 ? readProcess(pid) : undefined;
	if (facts) escaped.push({ pgid: pid, leaderStartTicks: facts.startTicks });
	assert.ok(facts, 'the escaped process is alive (outside the group, not ours to kill)');
	assert.ok(Date.now() - started < 20_000);
	assert.equal(outcome.status, 'success');
	assertGroupGone(outcome);
});

test('cancellation by AbortSignal stops the job group and releases the lock', async () => {
	const db = freshDb();
	const controller = new AbortController();
	const running = runUnderLock(
		{
			databasePath: db,
			command: ['sh', '-c', 'sleep 600 & sleep 600'],
			timeoutMs: 600_000,
			graceMs: 1000,
			signal: controller.signal,
		},
		{
			onEvent: (event) => {
				if (event.type === 'job-started') setTimeout(() => controller.abort(), 200);
			},
		},
	);
	const outcome = await running;
	assert.equal(outcome.status, 'canceled');
	assert.equal(outcome.termination?.reason, 'canceled');
	assertGroupGone(outcome);
});

test('command not found is failed with 127, not executable with 126; a crash by signal is 128+N', async () => {
	const notFound = await runUnderLock({ databasePath: freshDb(), command: ['definitely-not-a-command-xyz'] });
	assert.equal(notFound.status, 'failed');
	assert.equal(notFound.exitCode, 127);
	assert.match(notFound.summary, /command not found: definitely-not-a-command-xyz/);
	const script = join(dir.path, 'not-executable.sh');
	writeFileSync(script, '#!/bin/sh\necho hi\n');
	chmodSync(script, 0o644);
	const notExecutable = await runUnderLock({ databasePath: freshDb(), command: [script] });
	assert.equal(notExecutable.exitCode, 126);
	assert.match(notExecutable.summary, /not executable/);
	const killed = await runUnderLock({ databasePath: freshDb(), command: ['sh', '-c', 'kill -KILL $$'] });
	assert.equal(killed.status, 'failed');
	assert.equal(killed.signal, 'SIGKILL');
	assert.equal(exitCodeFor(killed), 137);
	const failed = await runUnderLock({
		databasePath: freshDb(),
		command: ['sh', '-c', 'echo "bad symbol BTCXXX" >&2; exit 3'],
	});
	assert.equal(exitCodeFor(failed), 3);
	assert.match(failed.summary, /exited with code 3 .*: bad symbol BTCXXX$/);
});

test('a shell is used only when asked, and the outcome says so', async () => {
	const plain = await runUnderLock({ databasePath: freshDb(), command: ['echo', '$(id -u); rm -rf /nonexistent-x'] });
	assert.equal(plain.shell, false);
	assert.equal(plain.output.stdout.tail, '$(id -u); rm -rf /nonexistent-x\n', 'arguments arrive verbatim');
	const shell = await runUnderLock({ databasePath: freshDb(), command: ['echo $((40 + 2))'], shell: true });
	assert.equal(shell.shell, '/bin/sh');
	assert.equal(shell.output.stdout.tail, '42\n');
	// Values after the line are the shell's $1, $2: never spliced into the line.
	const positional = await runUnderLock({
		databasePath: freshDb(),
		command: ['printf "[%s]" "$1"', '$(echo injected); echo x'],
		shell: true,
	});
	assert.equal(positional.output.stdout.tail, '[$(echo injected); echo x]');
});

test("hundreds of MB of output: the supervisor's memory stays bounded and the tail is exact", async () => {
	const db = freshDb();
	const log = join(dir.path, 'big.log');
	const actor = nodeChild('run-actor', [
		JSON.stringify({
			databasePath: db,
			command: ['sh', '-c', 'head -c 314572800 /dev/zero | tr "\\0" "x"; echo; echo END'],
			logFile: log,
			timeoutMs: 600_000,
		}),
	]);
	const { outcome, maxRssMb } = await actor.next<{ outcome: Outcome; maxRssMb: number }>('outcome', 300_000);
	assert.equal(outcome.status, 'success');
	assert.equal(outcome.output.stdout.bytes, 314_572_800 + 5);
	assert.equal(outcome.output.stdout.truncated, true);
	assert.equal(Buffer.byteLength(outcome.output.stdout.tail), 64 * 1024);
	assert.ok(outcome.output.stdout.tail.endsWith('x\nEND\n'));
	assert.ok(maxRssMb < 200, `supervisor peak RSS ${maxRssMb.toFixed(0)} MB`);
	const logText = readFileSync(log, 'utf8');
	assert.ok(logText.length > 314_572_800, 'the log file got everything');
});

test('log file and line callback get the output line by line', async () => {
	const db = freshDb();
	const log = join(dir.path, 'lines.log');
	const lines: string[] = [];
	await runUnderLock(
		{ databasePath: db, command: ['sh', '-c', 'printf "a\\nb\\n"; printf "c" >&2'], logFile: log },
		{ onLine: (stream, line) => lines.push(`${stream}:${line}`) },
	);
	assert.deepEqual(lines.sort(), ['stderr:c', 'stdout:a', 'stdout:b']);
	const text = readFileSync(log, 'utf8');
	assert.match(text, /starting sh -c/);
	assert.match(text, /a\nb\n/);
	assert.match(text, /success \(exit 0\)/);
});

test('bad input is a UsageError and creates nothing', async () => {
	const db = freshDb();
	const cases: Array<[object, RegExp]> = [
		[{ databasePath: join(dir.path, 'missing', 'x.duckdb'), command: ['true'] }, /folder .* does not exist/],
		[{ databasePath: db, command: ['true'], timeoutMs: 0 }, /greater than zero/],
		[{ databasePath: db, command: ['true'], timeoutMs: -5 }, /greater than zero/],
		[{ databasePath: db, command: ['true'], timeoutMs: 1000, graceMs: 5000 }, /longer than the timeout/],
		[{ databasePath: db, command: ['true'], cwd: join(dir.path, 'nope') }, /working directory .* does not exist/],
		[{ databasePath: db, command: [] }, /No command/],
		[{ databasePath: db, command: ['true'], logFile: join(dir.path, 'nope', 'x.log') }, /log file's folder/],
		[{ databasePath: db, command: ['true'], logFile: dir.path }, /log file .* is a folder/],
		[{ databasePath: db, command: ['true'], tailBytes: Number.NaN }, /output tail size/],
		[{ databasePath: db, command: ['true'], tailBytes: -1 }, /output tail size/],
		[{ databasePath: db, command: ['true'], tailBytes: 1.5 }, /output tail size/],
		[{ databasePath: db, command: ['true'], tailBytes: 17 * 1024 * 1024 }, /output tail size/],
		[
			{ databasePath: db, command: ['true'], heartbeatMs: 25 * 86_400_000, staleAfterMs: 90 * 86_400_000 },
			/heartbeat interval is too long/,
		],
		[{ databasePath: db, command: ['true'], staleAfterMs: 25 * 86_400_000 }, /stale period is too long/],
	];
	// A file we may not open for writing (EACCES even for root): sysfs's read-only notes, where there is one.
	if (existsSync('/sys/kernel/notes'))
		cases.push([{ databasePath: db, command: ['true'], logFile: '/sys/kernel/notes' }, /log file .* cannot be opened/]);
	for (const [options, message] of cases) {
		await assert.rejects(
			runUnderLock(options as never),
			(error: unknown) => error instanceof UsageError && message.test(error.message),
			JSON.stringify(options),
		);
	}
	assert.equal(existsSync(`${db}.pid`), false);
	assert.equal(existsSync(join(dir.path, 'missing')), false);
});

test("a held lock blocks with the holder's details and starts nothing", async () => {
	const db = freshDb();
	const first = runUnderLock({
		databasePath: db,
		command: ['sleep', '600'],
		timeoutMs: 3000,
		graceMs: 500,
		owner: 'first run',
	});
	for (
		let i = 0;
		i < 100 && !(existsSync(`${db}.pid`) && parsePidFile(readFileSync(`${db}.pid`, 'utf8')).kind === 'record');
		i++
	)
		await sleep(20);
	await sleep(200);
	const second = await runUnderLock({ databasePath: db, command: ['sh', '-c', 'echo must-not-run'] });
	assert.equal(second.status, 'blocked');
	assert.equal(second.jobPid, null);
	assert.equal(second.holder?.role, 'job');
	assert.equal(second.holder?.owner, 'first run');
	assert.match(
		second.summary,
		/^Blocked: run\d+\.duckdb is held by PID \d+ \(sleep 600, running .*, first run\); not started$/,
	);
	const done = await first;
	assert.equal(second.holder?.pid, done.jobPid);
	assert.equal(done.status, 'timeout');
});

test('a live copy whose reader goes away (EPIPE while waiting for drain) stops the copy, not the job', async () => {
	// The reader never reads and exits after a moment: our copy fills its pipe, pauses for 'drain', then gets EPIPE.
	const reader = track(spawn('sleep', ['0.5'], { stdio: ['pipe', 'ignore', 'ignore'] }));
	const outcome = await runUnderLock(
		{
			databasePath: freshDb(),
			command: ['sh', '-c', 'head -c 4000000 /dev/zero; echo END'],
			timeoutMs: 8000,
			graceMs: 500,
		},
		{ echo: { stdout: reader.stdin! } },
	);
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.equal(outcome.output.stdout.bytes, 4_000_004);
	assertGroupGone(outcome);
});

test('a PID file taken away before the job is recorded: the job is stopped at once and the run is failed, not an exception', async () => {
	const db = freshDb();
	const outcome = await runUnderLock(
		{ databasePath: db, command: ['sleep', '600'], timeoutMs: 60_000, graceMs: 10_000, probeDatabase: false },
		// The test's own PID file, removed right after the lock was taken (as someone judging it stale would).
		{
			onEvent: (event) => {
				if (event.type === 'lock-acquired') rmSync(`${db}.pid`);
			},
		},
	);
	assert.equal(outcome.status, 'failed');
	assert.equal(outcome.termination?.reason, 'lock-lost');
	assert.match(outcome.error ?? '', /could not be recorded in the lock .*no longer ours.*stopped/);
	assert.ok(outcome.durationMs < 8000, `stopped without the grace period (${outcome.durationMs} ms)`);
	assert.deepEqual(groupMembers(outcome.jobPid!), []);
});

test('the command recorded in the PID file and the log file has URL passwords and the env values masked', async () => {
	const db = freshDb();
	const log = join(dir.path, 'masked.log');
	let pidFile = '';
	const command = ['sh', '-c', 'exit 0', 'sh', 'redis://worker:pa55word@redis:6379/0', '--token=s3cr3t-value'];
	const outcome = await runUnderLock(
		{ databasePath: db, command, env: { API_TOKEN: 's3cr3t-value' }, logFile: log },
		{
			onEvent: (event) => {
				if (event.type === 'job-started') pidFile = readFileSync(`${db}.pid`, 'utf8');
			},
		},
	);
	assert.equal(outcome.status, 'success');
	assert.match(pidFile, /command=sh -c exit 0 sh redis:\/\/worker:\*\*\*@redis:6379\/0 --token=\*{8}/);
	for (const text of [pidFile, readFileSync(log, 'utf8')]) {
		assert.ok(!text.includes('pa55word') && !text.includes('s3cr3t-value'), text);
	}
	assert.deepEqual(outcome.command, command, 'the outcome keeps the command as given (the node masks its own secrets)');
});

test('the job does not inherit DUCKDB_SAFE_INGEST_REDIS_URL (the Redis password kept out of ps)', async () => {
	const saved = process.env.DUCKDB_SAFE_INGEST_REDIS_URL;
	process.env.DUCKDB_SAFE_INGEST_REDIS_URL = 'redis://:pa55word@127.0.0.1:1/0';
	try {
		const outcome = await runUnderLock({
			databasePath: freshDb(),
			command: ['sh', '-c', 'echo "[${DUCKDB_SAFE_INGEST_REDIS_URL-unset}] [$OTHER]"'],
			env: { OTHER: 'given' },
		});
		assert.equal(outcome.output.stdout.tail, '[unset] [given]\n');
	} finally {
		if (saved === undefined) delete process.env.DUCKDB_SAFE_INGEST_REDIS_URL;
		else process.env.DUCKDB_SAFE_INGEST_REDIS_URL = saved;
	}
});

test('inheritEnv: the job inherits only what the policy lets through, its own variables on top; never the Redis URL', async () => {
	const saved = {
		url: process.env.DUCKDB_SAFE_INGEST_REDIS_URL,
		kept: process.env.RUN_TEST_KEPT,
		dropped: process.env.RUN_TEST_DROPPED,
	};
	Object.assign(process.env, {
		DUCKDB_SAFE_INGEST_REDIS_URL: 'redis://:pa55word@127.0.0.1:1/0',
		RUN_TEST_KEPT: 'kept',
		RUN_TEST_DROPPED: 'dropped',
	});
	try {
		const line =
			'echo "[${RUN_TEST_KEPT-unset}] [${RUN_TEST_DROPPED-unset}] [${DUCKDB_SAFE_INGEST_REDIS_URL-unset}] [$OWN]"';
		const inheritEnv = (name: string): boolean => name !== 'RUN_TEST_DROPPED';
		const outcome = await runUnderLock({
			databasePath: freshDb(),
			command: ['/bin/sh', '-c', line],
			env: { OWN: 'own', RUN_TEST_DROPPED: 'given' },
			inheritEnv,
		});
		assert.equal(
			outcome.output.stdout.tail,
			'[kept] [given] [unset] [own]\n',
			'a dropped name the job is given itself is the given value',
		);
		const db = freshDb();
		const none = await runUnderLock({
			databasePath: db,
			command: ['/usr/bin/env'],
			env: { OWN: 'own' },
			inheritEnv: () => false,
		});
		const lines = none.output.stdout.tail.trim().split('\n').sort();
		assert.deepEqual(
			lines.map((line) => line.replace(/=.*/, '')),
			['DUCKDB_SAFE_INGEST_LOCK_FILE', 'DUCKDB_SAFE_INGEST_LOCK_TOKEN', 'OWN'],
			"nothing inherited: the job's own variables and its lock proof",
		);
		assert.equal(lines[0], `DUCKDB_SAFE_INGEST_LOCK_FILE=${db}.pid`);
		assert.equal(lines[2], 'OWN=own');
	} finally {
		for (const [name, value] of [
			['DUCKDB_SAFE_INGEST_REDIS_URL', saved.url],
			['RUN_TEST_KEPT', saved.kept],
			['RUN_TEST_DROPPED', saved.dropped],
		] as const) {
			if (value === undefined) delete process.env[name];
			else process.env[name] = value;
		}
	}
});
