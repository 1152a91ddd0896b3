/** duckdb-safe-ingest as a real process: exit codes, two runs at once, signals to the supervisor, orphans. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { groupMembers, signalGroup } from '../../lib/proc/group';
import { readProcess } from '../../lib/proc/identity';
import { runCli, startCli } from '../helpers/cli';
import { sleep, stopAll, tempDir } from '../helpers/processes';

const dir = tempDir();
let n = 0;
const freshDb = (): string => join(dir.path, `cli${++n}.duckdb`);
after(() => {
	stopAll();
	dir.remove();
});

const tool = 'duckdb-safe-ingest';

/** Waits until the PID file names a running job, and returns its PID. */
async function jobPidOf(db: string): Promise<number> {
	for (let i = 0; i < 500; i++) {
		if (existsSync(`${db}.pid`)) {
			const parsed = parsePidFile(readFileSync(`${db}.pid`, 'utf8'));
			if (parsed.kind === 'record' && parsed.record.role === 'job') return parsed.record.pid;
		}
		await sleep(20);
	}
	throw new Error(`no job recorded in ${db}.pid`);
}

test('exit codes, case by case (GNU timeout compatible)', async () => {
	const script = join(dir.path, 'not-executable.sh');
	writeFileSync(script, '#!/bin/sh\necho hi\n');
	chmodSync(script, 0o644);
	const cases: Array<[string, string[], number]> = [
		['success', ['--', 'true'], 0],
		["the command's own status", ['--', 'sh', '-c', 'exit 3'], 3],
		['timeout', ['--timeout', '300ms', '--grace', '200ms', '--', 'sleep', '600'], 124],
		['not executable', ['--', script], 126],
		['not found', ['--', 'no-such-command-xyz'], 127],
		['killed by a signal', ['--', 'sh', '-c', 'kill -KILL $$'], 137],
		['bad duration', ['--timeout', 'soon', '--', 'true'], 125],
		['zero timeout', ['--timeout', '0', '--', 'true'], 125],
		['grace longer than timeout', ['--timeout', '1s', '--grace', '5s', '--', 'true'], 125],
		['no command', [], 125],
		['command without --', ['true'], 125],
		['unknown option', ['--frobnicate', '--', 'true'], 125],
	];
	for (const [what, args, expected] of cases) {
		const db = freshDb();
		const result = await runCli(tool, ['--db', db, ...args]);
		assert.equal(result.code, expected, `${what}: ${result.stderr}`);
		assert.equal(existsSync(`${db}.pid`), false, `${what}: no lock left behind`);
	}
	const missing = await runCli(tool, ['--db', join(dir.path, 'no-folder', 'x.duckdb'), '--', 'true']);
	assert.equal(missing.code, 125);
	assert.match(missing.stderr, /database folder .*no-folder does not exist/);
	assert.equal(existsSync(join(dir.path, 'no-folder')), false, 'nothing created');

	const garbage = freshDb();
	writeFileSync(`${garbage}.pid`, 'not a pid\n');
	const unreadable = await runCli(tool, ['--db', garbage, '--', 'true']);
	assert.equal(unreadable.code, 125, 'an unreadable lock file is our error, not a conflict');
	assert.equal(readFileSync(`${garbage}.pid`, 'utf8'), 'not a pid\n', 'and it is left alone');
});

test("two runs at once: one runs, the other is blocked with the holder's PID (exit 1, or --conflict-exit-code)", async () => {
	const db = freshDb();
	const first = startCli(tool, ['--db', db, '--json', '--', 'sleep', '600']);
	const jobPid = await jobPidOf(db);
	const second = await runCli(tool, ['--db', db, '--json', '--', 'sh', '-c', 'echo must-not-run']);
	assert.equal(second.code, 1);
	assert.equal(second.json?.status, 'blocked');
	assert.equal(second.json?.holder?.pid, jobPid);
	assert.ok(!second.stdout.split('\n').includes('must-not-run'), 'the second job never ran');
	const custom = await runCli(tool, ['--db', db, '--conflict-exit-code', '75', '--', 'true']);
	assert.equal(custom.code, 75);

	// SIGTERM to the supervisor: the job group is stopped, the PID file removed, exit 128+15.
	first.child.kill('SIGTERM');
	const result = await first.result;
	assert.equal(result.code, 143);
	assert.equal(result.json?.status, 'canceled');
	assert.equal(result.json?.termination?.reason, 'supervisor-signal');
	assert.equal(existsSync(`${db}.pid`), false);
	assert.deepEqual(groupMembers(jobPid), []);
});

test('SIGINT and SIGHUP to the supervisor exit 130 and 129 after stopping the job', async () => {
	for (const [signal, code] of [
		['SIGINT', 130],
		['SIGHUP', 129],
	] as const) {
		const db = freshDb();
		const run = startCli(tool, ['--db', db, '--', 'sh', '-c', 'sleep 600 & sleep 600']);
		const jobPid = await jobPidOf(db);
		run.child.kill(signal);
		const result = await run.result;
		assert.equal(result.code, code, signal);
		assert.equal(existsSync(`${db}.pid`), false);
		assert.deepEqual(groupMembers(jobPid), []);
	}
});

test('SIGKILL to the supervisor leaves an orphan job; the next run reports it as the live holder', async () => {
	const db = freshDb();
	const run = startCli(tool, ['--db', db, '--', 'sleep', '600']);
	const jobPid = await jobPidOf(db);
	const jobStart = readProcess(jobPid)!.startTicks;
	run.child.kill('SIGKILL');
	await run.result;
	try {
		assert.ok(readProcess(jobPid), 'the job lives on as an orphan');
		const next = await runCli(tool, ['--db', db, '--json', '--', 'true']);
		assert.equal(next.code, 1);
		assert.equal(next.json?.holder?.pid, jobPid);
		assert.equal(next.json?.holder?.role, 'job');
		assert.equal(next.json?.holder?.identityProven, true);
		assert.match(next.json?.summary ?? '', /held by PID \d+ \(sleep 600/);
	} finally {
		// The orphan is our own descendant: stop its group by PID, identity re-checked.
		signalGroup({ pgid: jobPid, leaderStartTicks: jobStart }, 'SIGKILL');
	}
});

test('relative paths are resolved against the working directory and reported resolved; --help documents exit codes', async () => {
	const result = await runCli(tool, ['--db', 'relative.duckdb', '--json', '--', 'true'], { cwd: dir.path });
	assert.equal(result.code, 0);
	assert.equal(result.json?.database, join(dir.path, 'relative.duckdb'));
	assert.match(result.stderr, new RegExp(`checking the lock ${join(dir.path, 'relative.duckdb')}\\.pid`));
	const help = await runCli(tool, ['--help']);
	assert.equal(help.code, 0);
	for (const code of ['124', '125', '126', '127', '128+N', '--conflict-exit-code'])
		assert.ok(help.stdout.includes(code), code);
	assert.match(help.stdout, /--heartbeat DURATION .*\(default: the stale period \/ 6, at most 10\)/s);
});

test('--json after a job whose output does not end in a newline: the JSON still has a line of its own', async () => {
	const result = await runCli(tool, ['--db', freshDb(), '--json', '--', 'printf', 'partial line']);
	assert.equal(result.code, 0, result.stderr);
	assert.ok(result.stdout.startsWith('partial line\n{'), result.stdout);
	assert.equal(result.json?.status, 'success');
	const empty = await runCli(tool, ['--db', freshDb(), '--json', '--', 'true']);
	assert.ok(empty.stdout.startsWith('{'), 'no blank line when the job printed nothing');
});

test('stopAll (the test helper) stops the job group of a supervisor it started, not only the supervisor', async () => {
	const db = freshDb();
	const run = startCli(tool, ['--db', db, '--', 'sh', '-c', 'sleep 600 & sleep 600']);
	const jobPid = await jobPidOf(db);
	const jobStart = readProcess(jobPid)!.startTicks;
	try {
		stopAll();
		await run.result;
		for (let i = 0; i < 100 && groupMembers(jobPid).length; i++) await sleep(20);
		assert.deepEqual(
			groupMembers(jobPid).map((member) => `${member.pid} ${member.name}`),
			[],
			'no orphan of the job group is left',
		);
	} finally {
		signalGroup({ pgid: jobPid, leaderStartTicks: jobStart }, 'SIGKILL');
	}
});

test('--insert-rows: NDJSON from a file or stdin into a table; a bad line is a usage error naming it; no row file is left', async () => {
	const folder = join(dir.path, 'insert-rows');
	mkdirSync(folder);
	const db = join(folder, 'm.duckdb');
	const rows = join(folder, 'rows.ndjson');
	writeFileSync(rows, '{"a": 1, "p": "1.5"}\n{"a": 2, "p": "2.5", "tags": ["x"]}\n');
	const before = readdirSync(tmpdir()).filter((name) => name.startsWith('duckdb-safe-ingest-rows-')).length;
	const args = ['--db', db, '--table', 't', '--mode', 'insert-or-ignore', '--primary-key', 'a', '--json'];
	const fromFile = await runCli(tool, ['--insert-rows', rows, ...args]);
	assert.equal(fromFile.code, 0, fromFile.stderr);
	assert.deepEqual(fromFile.json?.insert?.rows, { inserted: 2, ignored: 0, updated: 0 });
	const fromStdin = await runCli(tool, ['--insert-rows', '-', ...args], {
		prefix: ['sh', '-c', `exec "$@" < ${rows}`, 'sh'],
	});
	assert.equal(fromStdin.code, 0, fromStdin.stderr);
	assert.deepEqual(fromStdin.json?.insert?.rows, { inserted: 0, ignored: 2, updated: 0 });
	writeFileSync(rows, '{"a": 3}\nnot json\n');
	const bad = await runCli(tool, ['--insert-rows', rows, ...args]);
	assert.equal(bad.code, 125);
	assert.match(bad.stderr, /line 2 is not JSON/);
	const stray = await runCli(tool, ['--db', db, '--sql', rows, '--batch-size', '5']);
	assert.equal(stray.code, 125);
	assert.match(stray.stderr, /--batch-size belongs to --insert-rows/);
	assert.equal(readdirSync(tmpdir()).filter((name) => name.startsWith('duckdb-safe-ingest-rows-')).length, before);
	assert.equal(existsSync(`${db}.pid`), false);
});
