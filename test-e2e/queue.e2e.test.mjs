// End-to-end in n8n's queue mode (2.41.1): PostgreSQL and Redis started by the suite, one `n8n start` main and two
// `n8n worker`s, each worker in its own PID and UTS namespace (as containers) sharing the database folder. With the
// Local File lock and with the Redis lock: executions triggered at once never run two jobs at a time (the jobs' own
// start and end lines prove it), a worker SIGKILLed mid-job is recovered from only after the lease, and the editor's
// Stop reaches the job on its worker.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as h from '../scripts/e2e/harness.mjs';
import * as srv from '../scripts/e2e/server.mjs';
import * as wf from '../scripts/e2e/server-workflows.mjs';
import { startQueue, startWorker, stopQueue } from '../scripts/e2e/queue.mjs';
import { hostPidOf, jobRuns, overlaps, startedRun } from '../scripts/e2e/job-log.mjs';

const MIN = 60_000;
/** The lease of the workflows whose worker is killed: long enough that a run right after the kill decides within it. */
const LEASE_S = 20;
const GRACE_S = 2;
const BACKENDS = ['file', 'redis'];
let ctx;

/** A hold workflow on its own database and log, with the lock `backend` and the lease LEASE_S. */
const publishHold = (name, backend, options = {}) =>
	wf.publishHold(
		ctx.queue.main.rest,
		{ dataDir: ctx.dataDir, pkgDir: ctx.install.pkgDir, sinkUrl: ctx.sink.url },
		name,
		{
			ms: 2000,
			graceSeconds: GRACE_S,
			backend,
			redisCredential: ctx.redisCredential,
			staleAfterSeconds: LEASE_S,
			...options,
		},
	);

function reportsOf(name) {
	return ctx.sink.messages.filter((m) => m.json?.workflow === name).map((m) => m.json);
}

async function reports(name, count, timeoutMs = 120_000) {
	await h.waitFor(() => reportsOf(name).length >= count, { timeoutMs, what: `${count} reports of ${name}` });
	return reportsOf(name);
}

/** The worker that took execution `id`, from the workers' own log ("Worker started execution <id> (job …)"). */
function workerOf(id) {
	return Object.values(ctx.queue.workers).find((worker) => worker.output().includes(`Worker started execution ${id} `))
		?.host;
}

const call = (path, body) => srv.callWebhook(ctx.queue.main.base, path, body);

describe('n8n queue mode: a main and two workers in their own containers', { timeout: 30 * MIN }, () => {
	before(
		async () => {
			const install = srv.installPackage();
			const dataDir = join(install.work, 'data');
			mkdirSync(dataDir);
			ctx = { install, dataDir, sink: await h.startSink() };
			ctx.queue = await startQueue(install, { dataDir });
			const credential = await ctx.queue.main.rest.createCredential({
				name: 'Lock Redis',
				type: 'duckDbLockRedisApi',
				data: { host: '127.0.0.1', port: ctx.queue.redis.port, database: 1 },
			});
			ctx.redisCredential = { id: credential.id, name: credential.name };
			ctx.wf = {};
			for (const backend of BACKENDS) {
				ctx.wf[`many-${backend}`] = await publishHold(`many-${backend}`, backend);
				ctx.wf[`kill-${backend}`] = await publishHold(`kill-${backend}`, backend);
			}
			ctx.wf.stop = await publishHold('stop', 'file', { ms: 600_000 });
		},
		{ timeout: 15 * MIN },
	);

	after(async () => {
		if (!ctx) return;
		await stopQueue(ctx.queue);
		await ctx.sink.close();
		// A stopped job may leave a WAL: DuckDB replays it (its normal recovery); no WAL is ever deleted.
		await h.replayLeftoverWals(ctx.install.pkgDir, ctx.dataDir);
		const wals = h.removeUnlessWal(ctx.install.work);
		if (wals.length) h.log(`kept ${ctx.install.work}: it holds WAL files (${wals.join(', ')})`);
	});

	for (const backend of BACKENDS) {
		test(`${backend} lock: executions triggered at once on both workers, exactly one job at a time`, async () => {
			const { path, log, name } = ctx.wf[`many-${backend}`];
			const waves = 4;
			const perWave = 4;
			for (let wave = 0; wave < waves; wave++) {
				const statuses = await Promise.all(Array.from({ length: perWave }, () => call(path)));
				assert.deepEqual(statuses, Array(perWave).fill(200));
				await reports(name, (wave + 1) * perWave);
			}
			const done = reportsOf(name);
			const runs = jobRuns(log);
			const time = (t) => (t ? new Date(t).toISOString().slice(11, 23) : '-');
			for (const report of done) {
				const run = runs.find((r) => r.execution === String(report.execution));
				h.log(
					`${backend}: execution ${report.execution} on ${workerOf(report.execution)}: ${report.output}, job ${time(run?.start)} → ${time(run?.end)}`,
				);
			}
			assert.ok(
				done.every((r) => ['worker-a', 'worker-b'].includes(workerOf(r.execution))),
				'every execution ran on a worker',
			);
			for (const run of runs) assert.equal(run.host, workerOf(run.execution), "the job ran in its worker's container");
			assert.deepEqual(overlaps(runs), [], 'no two jobs overlapped');
			assert.ok(
				done.every((r) => ['Success', 'Blocked'].includes(r.output)),
				JSON.stringify(done.map((r) => r.record.summary)),
			);
			const successes = done.filter((r) => r.output === 'Success');
			assert.ok(successes.length >= waves, `a job ran in each wave (${successes.length} successes)`);
			assert.equal(
				runs.filter((r) => r.end).length,
				successes.length,
				'every Success is one finished job, and no other job ran',
			);
			assert.deepEqual(
				[...new Set(done.map((r) => workerOf(r.execution)))].sort(),
				['worker-a', 'worker-b'],
				'both workers took executions',
			);
			assert.ok(
				done.some((r) => r.output === 'Blocked' && r.record.holder?.host !== workerOf(r.execution)),
				"a run was Blocked by the job in the other worker's container",
			);
			assert.ok(!existsSync(`${ctx.wf[`many-${backend}`].db}.pid`), 'no lock left');
		});
	}

	for (const backend of BACKENDS) {
		test(`${backend} lock: a worker SIGKILLed mid-job; the other recovers the lock after the lease, not before`, async () => {
			const { path, log, db, name } = ctx.wf[`kill-${backend}`];
			assert.equal(await call(path, { ms: 600_000 }), 200);
			const job = await startedRun(log, (run) => run.holding, 'the job on a worker to hold the database');
			const victim = ctx.queue.workers[job.host];
			await h.waitFor(() => existsSync(`${db}.pid`), { what: 'the lock' });
			victim.child.kill('SIGKILL'); // the unshare we started: its --kill-child takes the worker's container down
			await victim.exited;
			try {
				const killedAt = Date.now();
				assert.equal(await call(path), 200);
				const [blocked] = await reports(name, 1);
				assert.equal(blocked.output, 'Blocked', blocked.record.summary);
				assert.equal(blocked.record.holder?.host, job.host, 'Blocked names the dead worker as holder');
				assert.equal(blocked.record.holder?.remote, true, 'judged by its lease, not by a PID');
				assert.ok(Date.now() - killedAt < LEASE_S * 1000, 'that run was decided within the lease');
				await h.sleep(Math.max(0, killedAt + (LEASE_S + 2) * 1000 - Date.now()));
				assert.equal(await call(path), 200);
				const recovered = (await reports(name, 2))[1];
				assert.equal(recovered.output, 'Success', recovered.record.summary);
				assert.match(recovered.record.summary, /recovered/, "it recovered the dead worker's lock");
				assert.notEqual(workerOf(recovered.execution), job.host, 'on the other worker');
			} finally {
				ctx.queue.workers[job.host] = await startWorker(ctx.install, ctx.queue, job.host, ctx.dataDir);
			}
		});
	}

	test("the editor's Stop on an execution running on a worker stops its job within the grace period + 1 s", async () => {
		const { path, log, db } = ctx.wf.stop;
		assert.equal(await call(path), 200);
		const job = await startedRun(log, () => true, 'the job on a worker');
		const pid = hostPidOf(log, job.execution);
		assert.ok(pid, 'the job is visible from the host');
		// The job leads its own process group: as the host sees it, the group's id is the job's host PID.
		assert.ok(h.processGroupMembers(pid).length > 0, 'the job group runs');
		const stopped = Date.now();
		await ctx.queue.main.rest.stop(job.execution);
		await h.waitFor(() => h.processGroupMembers(pid).length === 0, {
			timeoutMs: 60_000,
			intervalMs: 20,
			what: 'the job group to be stopped',
		});
		const tookMs = Date.now() - stopped;
		h.log(`queue mode: the editor's Stop reached the job on ${job.host}; it was gone after ${tookMs} ms`);
		assert.ok(tookMs <= (GRACE_S + 1) * 1000, `gone after ${tookMs} ms`);
		await h.waitFor(() => !existsSync(`${db}.pid`), { timeoutMs: 10_000, what: 'the PID file to go' });
		assert.equal((await ctx.queue.main.rest.execution(job.execution)).status, 'canceled');
	});
});
