/**
 * Attacks through the Before Run and After Run hooks (issue 15): a hook Command is a program a workflow editor names,
 * so while the admin allowlist (DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS) is set it is held to the same list as the job
 * and gets the same confined environment, in DuckDB Safe Ingest (every operation) and in DuckDB Lock Cleanup.
 * Real n8n 2.x engine, real processes; an attack that runs code writes a marker file.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { assertRefused, attackBench, describeRun } from '../helpers/attack';
import { startCli } from '../helpers/cli';
import { sleep, stopAll } from '../helpers/processes';
import { args } from '../helpers/workflow';

const bench = attackBench();
afterEach(() => stopAll());
after(() => bench.remove());

const NOT_LISTED = /(Before|After) Run hook: The command \/bin\/sh is not allowlisted\. Ask your n8n instance admin/;

/** A Before Run (or After Run) hook that runs `/bin/sh -c LINE`. */
function shellHook(phase: 'before' | 'after', line: string): Record<string, unknown> {
	return { [`${phase}Run`]: 'command', [`${phase}Command`]: '/bin/sh', [`${phase}Arguments`]: args('-c', line) };
}

// --- finding 11: hook commands bypassed the allowlist and inherited n8n's secrets.

for (const [operation, parameters] of [
	['Run Command', { command: 'printf', arguments: args('ok') }],
	['Run SQL', { operation: 'runSql', sql: 'SELECT 1' }],
] as const) {
	for (const phase of ['before', 'after'] as const) {
		test(`finding 11: with the allowlist set, ${phase === 'before' ? 'a Before' : 'an After'} Run command that is not listed is refused (${operation}; marker absent)`, async () => {
			const marker = join(bench.folder('hook'), 'marker');
			const run = await bench.run(
				{ commands: ['/usr/bin/printf'] },
				{ parameters: { ...parameters, ...shellHook(phase, `touch ${marker}`) } },
			);
			assertRefused(run, NOT_LISTED);
			assert.equal(existsSync(marker), false, 'the hook command did not run');
		});
	}
}

test('finding 11: an allowlisted hook command gets the confined environment: no N8N_ENCRYPTION_KEY, the hook variables yes', async () => {
	const secret = `attack-${Date.now()}`;
	const dump = join(bench.folder('hook-env'), 'env');
	const run = await bench.run(
		{ commands: ['/usr/bin/printf', '/bin/sh'], process: { N8N_ENCRYPTION_KEY: secret } },
		{ parameters: { command: 'printf', arguments: args('ok'), ...shellHook('before', `env > ${dump}`) } },
	);
	assert.equal(run.outputs('Ingest')[0]?.length, 1, describeRun(run));
	const printed = readFileSync(dump, 'utf8');
	assert.ok(!printed.includes(secret), 'no n8n secret reached the hook command');
	assert.match(printed, /^DUCKDB_SAFE_INGEST_PHASE=before$/m);
	assert.match(printed, /^PATH=/m, 'the safe base is inherited');
});

test('held: without the allowlist a hook command runs and inherits as the job does (README: anyone who edits a workflow can run anything then)', async () => {
	const dump = join(bench.folder('hook-open'), 'env');
	const run = await bench.run(
		{ process: { N8N_ENCRYPTION_KEY: 'unconfined' } },
		{ parameters: { command: 'true', ...shellHook('after', `env > ${dump}`) } },
	);
	assert.equal(run.outputs('Ingest')[0]?.length, 1, describeRun(run));
	assert.match(readFileSync(dump, 'utf8'), /^N8N_ENCRYPTION_KEY=unconfined$/m);
});

/** A database whose run was SIGKILLed (supervisor and job) owing its After hook: the PID file says so. */
async function owingAfter(): Promise<string> {
	const db = join(bench.folder('owed'), 'owed.duckdb');
	(await DuckDBInstance.create(db)).closeSync();
	const run = startCli('duckdb-safe-ingest', ['--db', db, '--after-command', '/bin/true', '--', 'sleep', '30']);
	let job = 0;
	for (let i = 0; i < 500 && !job; i++) {
		const parsed = existsSync(`${db}.pid`) ? parsePidFile(readFileSync(`${db}.pid`, 'utf8')) : undefined;
		if (parsed?.kind === 'record' && parsed.record.role === 'job') job = parsed.record.pid;
		else await sleep(10);
	}
	assert.ok(job > 0, 'the job started');
	run.child.kill('SIGKILL');
	await run.result;
	process.kill(job, 'SIGKILL');
	for (let i = 0; i < 200 && existsSync(`/proc/${job}`); i++) await sleep(10);
	assert.match(readFileSync(`${db}.pid`, 'utf8'), /^after_pending=/m);
	return db;
}

test("finding 11: Lock Cleanup's After Run command for an owed After is held to the allowlist too (marker absent, lock kept)", async () => {
	const db = await owingAfter();
	const marker = join(bench.folder('cleanup-hook'), 'marker');
	const run = await bench.run(
		{ commands: ['/usr/bin/printf'] },
		{ parameters: {}, cleanup: { databasePath: db, action: 'removeStale', ...shellHook('after', `touch ${marker}`) } },
	);
	assertRefused(run, NOT_LISTED);
	assert.equal(existsSync(marker), false, 'the hook command did not run');
	assert.ok(existsSync(`${db}.pid`), 'the owed lock stays');
});
