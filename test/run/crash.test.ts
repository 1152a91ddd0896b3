/**
 * The crash test: a job committing rows to DuckDB in a loop, and the supervisor, the job or both SIGKILLed at random
 * moments, round after round, each round followed by one cleanup (--stop-stuck 0s --recover-wal --yes). At the end
 * one run must succeed, no job may be left that no lock names, and no committed row may be lost.
 * CRASH_ROUNDS sets the rounds (default 12; run it long once, e.g. CRASH_ROUNDS=200).
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { groupMembers } from '../../lib/proc/group';
import { query } from '../helpers/aggtrades';
import { runCli, startCli } from '../helpers/cli';
import { fixture, sleep, stopAll, tempDir } from '../helpers/processes';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 12);
const dir = tempDir();
afterEach(() => stopAll());
after(() => dir.remove());

function jobNamed(db: string): { pid: number; pgid?: number } | undefined {
	const parsed = existsSync(`${db}.pid`) ? parsePidFile(readFileSync(`${db}.pid`, 'utf8')) : undefined;
	return parsed?.kind === 'record' && parsed.record.role === 'job' ? parsed.record : undefined;
}

test(
	`${ROUNDS} rounds of SIGKILL to the supervisor, the job or both: one cleanup each, then a run succeeds and no committed row is lost`,
	{ timeout: 60 * 60_000 },
	async () => {
		const db = join(dir.path, 'crash.duckdb');
		const log = join(dir.path, 'committed.log');
		const groups = new Set<number>();
		const victims = { supervisor: 0, job: 0, both: 0 };
		const instance = await DuckDBInstance.create(db);
		instance.closeSync();
		for (let round = 0; round < ROUNDS; round++) {
			const run = startCli('duckdb-safe-ingest', [
				'--db',
				db,
				'--wait',
				'30s',
				'--',
				process.execPath,
				fixture('committing-writer'),
				db,
				log,
			]);
			// Past the CLI's start most of the time: the job is then running (or just starting) when the SIGKILL comes.
			await sleep(150 + Math.random() * 900);
			const job = jobNamed(db);
			if (process.env.CRASH_DEBUG)
				console.log(
					round,
					job,
					existsSync(`${db}.pid`) ? readFileSync(`${db}.pid`, 'utf8').split('\n').slice(0, 3).join(' ') : 'no pid file',
				);
			if (job?.pgid) groups.add(job.pgid);
			const victim = !job ? 'supervisor' : (['supervisor', 'job', 'both'] as const)[Math.floor(Math.random() * 3)];
			victims[victim]++;
			if (victim !== 'job') run.child.kill('SIGKILL');
			if (victim !== 'supervisor' && job) process.kill(job.pid, 'SIGKILL');
			await Promise.race([run.result, sleep(5000)]);
			const cleanup = await runCli('duckdb-lock-cleanup', [
				'--db',
				db,
				'--stop-stuck',
				'0s',
				'--recover-wal',
				'--yes',
				'--grace',
				'1s',
			]);
			assert.notEqual(cleanup.code, 125, cleanup.stderr);
			run.child.kill('SIGKILL');
			await run.result;
		}
		const cleanup = await runCli('duckdb-lock-cleanup', [
			'--db',
			db,
			'--stop-stuck',
			'0s',
			'--recover-wal',
			'--yes',
			'--grace',
			'1s',
		]);
		assert.equal(cleanup.code, 0, cleanup.stderr);
		for (const pgid of groups) assert.deepEqual(groupMembers(pgid), [], `job group ${pgid} left running`);
		const final = await runCli('duckdb-safe-ingest', ['--db', db, '--', 'true']);
		assert.equal(final.code, 0, final.stderr);
		const logged = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number) : [];
		const stored = new Set((await query(db, 'SELECT id FROM committed')).map((row) => Number(row.id)));
		const lost = logged.filter((id) => !stored.has(id));
		assert.deepEqual(lost, [], `${lost.length} committed rows lost of ${logged.length}`);
		console.log(
			`crash test: ${ROUNDS} rounds (${JSON.stringify(victims)}), ${logged.length} committed rows, none lost, no job left`,
		);
	},
);
