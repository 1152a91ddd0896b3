/**
 * A job never runs unless the lock names it. The supervisor is SIGKILLed at each step of the run (failpoints make it
 * stop itself there: DUCKDB_SAFE_INGEST_FAILPOINT); afterwards either the job's program never ran (its marker is
 * absent and nothing of its group lives), or the PID file names it and duckdb-lock-cleanup --stop-stuck 0s --yes
 * stops it. With the file backend, the Redis backend and the built-in worker.
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAILPOINTS, type Failpoint } from '../../lib/base/failpoint';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { groupMembers } from '../../lib/proc/group';
import { readProcess } from '../../lib/proc/identity';
import { query } from '../helpers/aggtrades';
import { runCli, startCli } from '../helpers/cli';
import { sleep, stopAll, tempDir } from '../helpers/processes';
import { startRedis, type RedisServer } from '../helpers/redis';

const dir = tempDir();
let n = 0;
let redis: RedisServer;
before(async () => (redis = await startRedis({ untracked: true })));
afterEach(() => stopAll());
after(async () => {
	await redis.stop();
	dir.remove();
});

/** The failpoints after which the job's program has started: the PID file must name it. */
const RAN = new Set<Failpoint>(['gate-released', 'job-exited', 'before-release']);

async function stoppedAt(run: ReturnType<typeof startCli>, failpoint: Failpoint): Promise<void> {
	for (let i = 0; i < 1500; i++) {
		const state = readProcess(run.child.pid!, { details: false })?.state;
		if (state === 'T') return;
		if (state === undefined || state === 'Z') break;
		await sleep(10);
	}
	throw new Error(`the supervisor did not stop at ${failpoint}: ${await run.result.then((result) => result.stderr)}`);
}

async function gone(pgid: number): Promise<boolean> {
	for (let i = 0; i < 300 && groupMembers(pgid).length; i++) await sleep(10);
	return groupMembers(pgid).length === 0;
}

type Variant = {
	name: string;
	args: (db: string, marker: string, quick: boolean) => string[];
	ran: (db: string, marker: string) => Promise<boolean>;
};

const VARIANTS: Variant[] = [
	{
		name: 'file backend',
		args: (_db, marker, quick) => ['--', 'sh', '-c', quick ? `touch ${marker}` : `touch ${marker}; sleep 30`],
		ran: async (_db, marker) => existsSync(marker),
	},
	{
		name: 'Redis backend',
		args: (_db, marker, quick) => [
			'--redis',
			redis.url,
			'--',
			'sh',
			'-c',
			quick ? `touch ${marker}` : `touch ${marker}; sleep 30`,
		],
		ran: async (_db, marker) => existsSync(marker),
	},
	{
		name: 'built-in worker (Run SQL)',
		args: (_db, marker) => {
			writeFileSync(marker + '.sql', 'CREATE TABLE ran AS SELECT 1 AS i');
			return ['--sql', marker + '.sql'];
		},
		ran: async (db) =>
			existsSync(db) && (await query(db, "SELECT table_name FROM duckdb_tables() WHERE table_name = 'ran'")).length > 0,
	},
];

for (const variant of VARIANTS) {
	for (const failpoint of FAILPOINTS) {
		test(`${variant.name}: the supervisor SIGKILLed at ${failpoint} leaves no job that the lock does not name`, async () => {
			const db = join(dir.path, `f${++n}.duckdb`);
			const marker = join(dir.path, `ran${n}`);
			const quick = failpoint === 'job-exited' || failpoint === 'before-release';
			const run = startCli('duckdb-safe-ingest', ['--db', db, ...variant.args(db, marker, quick)], {
				env: { ...process.env, DUCKDB_SAFE_INGEST_FAILPOINT: failpoint },
			});
			await stoppedAt(run, failpoint);
			const record = existsSync(`${db}.pid`) ? parsePidFile(readFileSync(`${db}.pid`, 'utf8')) : undefined;
			run.child.kill('SIGKILL');
			await run.result;
			const job = record?.kind === 'record' && record.record.role === 'job' ? record.record : undefined;
			if (!RAN.has(failpoint)) {
				if (job) assert.ok(await gone(job.pid), 'the gate exits without running anything once its supervisor is gone');
				assert.equal(await variant.ran(db, marker), false, "the job's program never ran");
			} else {
				assert.ok(job, `the PID file names the job at ${failpoint}`);
				const cleanup = await runCli('duckdb-lock-cleanup', [
					'--db',
					db,
					'--stop-stuck',
					'0s',
					'--yes',
					'--grace',
					'2s',
				]);
				assert.equal(cleanup.code, 0, cleanup.stderr);
				assert.ok(await gone(job.pid), 'the cleanup stopped the job (or it had ended)');
			}
			// Whatever happened, the database is usable again at once (a stale lock is recovered by the next run).
			const next = await runCli('duckdb-safe-ingest', [
				'--db',
				db,
				...(variant.name === 'Redis backend' ? ['--redis', redis.url] : []),
				'--',
				'true',
			]);
			assert.equal(next.code, 0, next.stderr);
		});
	}
}
