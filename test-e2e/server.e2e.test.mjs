// End-to-end in a long-running n8n: `n8n start` (2.41.1) on a loopback port with the packed package installed the way
// n8n's GUI installer does it; the owner set up, workflows created and published, executions read and stopped through
// n8n's REST API; Webhook and Schedule triggers; a local sink stands in for Discord. The job (scripts/e2e/hold-job.mjs)
// logs its own start and end, which prove that two jobs never ran at once.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as h from '../scripts/e2e/harness.mjs';
import * as srv from '../scripts/e2e/server.mjs';
import * as wf from '../scripts/e2e/server-workflows.mjs';
import { aliveJobs, jobRuns, overlaps, startedRun } from '../scripts/e2e/job-log.mjs';

const MIN = 60_000;
const GRACE_S = 2;
let ctx;

async function start(extra = {}) {
	const instance = await srv.startInstance(ctx.install, { folder: ctx.folder, dataDir: ctx.dataDir, extra });
	await instance.rest.signIn();
	return instance;
}

/** A hold workflow on its own database and log (its job holds the database 3 s unless the call says otherwise). */
const publishHold = (name, options = {}) =>
	wf.publishHold(ctx.main.rest, { dataDir: ctx.dataDir, pkgDir: ctx.install.pkgDir, sinkUrl: ctx.sink.url }, name, {
		ms: 3000,
		graceSeconds: GRACE_S,
		...options,
	});

/** The sink's reports of workflow `name` (one per finished execution), waiting until there are `count`. */
async function reports(name, count, timeoutMs = 120_000) {
	const of = () => ctx.sink.messages.filter((m) => m.json?.workflow === name);
	await h.waitFor(() => of().length >= count, { timeoutMs, what: `${count} reports of ${name}` });
	return of().map((m) => m.json);
}

const groupGone = (pgid) => h.processGroupMembers(pgid).length === 0;

describe('n8n start: one long-running server', { timeout: 25 * MIN }, () => {
	before(
		async () => {
			const install = srv.installPackage();
			const dataDir = join(install.work, 'data');
			mkdirSync(dataDir);
			ctx = { install, dataDir, folder: srv.userFolder(install, 'main'), sink: await h.startSink() };
			ctx.main = await start();
			ctx.wf = {
				concurrent: await publishHold('concurrent'),
				stop: await publishHold('stop', { ms: 600_000 }),
				stopIgnoring: await publishHold('stop-ignoring', { ms: 600_000, ignoreTerm: true }),
				crash: await publishHold('crash'),
				sigterm: await publishHold('sigterm', { ms: 600_000 }),
			};
			const crashCleanup = wf.cleanupWorkflow({
				name: 'crash-cleanup',
				path: 'crash-cleanup',
				db: ctx.wf.crash.db,
				sinkUrl: ctx.sink.url,
			});
			await ctx.main.rest.publish(crashCleanup);
		},
		{ timeout: 12 * MIN },
	);

	after(async () => {
		if (!ctx) return;
		await ctx.main?.stop();
		// A failed test may leave a job of ours behind: stop it by the PID it logged, after checking it is still ours.
		for (const run of Object.values(ctx.wf ?? {}).flatMap((w) => aliveJobs(w.log))) process.kill(run.pid, 'SIGKILL');
		await ctx.sink.close();
		// A stopped job may leave a WAL: DuckDB replays it (its normal recovery); no WAL is ever deleted.
		await h.replayLeftoverWals(ctx.install.pkgDir, ctx.dataDir);
		const wals = h.removeUnlessWal(ctx.install.work);
		if (wals.length) h.log(`kept ${ctx.install.work}: it holds WAL files (${wals.join(', ')})`);
	});

	test('two executions at once in one process: one Success, one Blocked naming the running job', async () => {
		const { path, log, name } = ctx.wf.concurrent;
		assert.equal(await srv.callWebhook(ctx.main.base, path), 200);
		const first = await startedRun(log, () => true, 'the first job');
		assert.equal(await srv.callWebhook(ctx.main.base, path), 200);
		const done = await reports(name, 2);
		const byOutput = Object.fromEntries(done.map((r) => [r.output, r]));
		assert.deepEqual(done.map((r) => r.output).sort(), ['Blocked', 'Success'], JSON.stringify(done));
		assert.equal(byOutput.Blocked.record.holder.pid, first.pid, 'Blocked names the running job');
		assert.equal(byOutput.Success.record.jobPid, first.pid);
		assert.equal(jobRuns(log).length, 1, 'the blocked execution started no job');
		assert.ok(!existsSync(`${ctx.wf.concurrent.db}.pid`), 'PID file removed');
	});

	for (const [key, what] of [
		['stop', 'a job that obeys SIGTERM'],
		['stopIgnoring', 'a job that ignores SIGTERM'],
	]) {
		test(`Stop from the REST API stops ${what}: the group is gone within the grace period + 1 s`, async () => {
			const { path, log, db } = ctx.wf[key];
			assert.equal(await srv.callWebhook(ctx.main.base, path), 200);
			const job = await startedRun(log, () => true, 'the job');
			const stopped = Date.now();
			await ctx.main.rest.stop(job.execution);
			await h.waitFor(() => groupGone(job.pid), { timeoutMs: 30_000, intervalMs: 20, what: 'the job group to go' });
			const tookMs = Date.now() - stopped;
			assert.ok(tookMs <= (GRACE_S + 1) * 1000, `the job group was gone after ${tookMs} ms`);
			if (key === 'stopIgnoring')
				assert.ok(tookMs >= GRACE_S * 1000 - 100, `SIGKILL only after the grace (${tookMs} ms)`);
			await h.waitFor(() => !existsSync(`${db}.pid`), { timeoutMs: 10_000, what: 'the PID file to go' });
			await h.waitFor(async () => (await ctx.main.rest.execution(job.execution)).status === 'canceled', {
				timeoutMs: 20_000,
				what: `execution ${job.execution} to be canceled`,
			});
		});
	}

	test(
		'n8n SIGKILLed mid-job: after the restart Blocked names the orphan, Lock Cleanup (Stop Stuck Jobs) recovers, then Success',
		{ timeout: 8 * MIN },
		async () => {
			const { path, log, db, name } = ctx.wf.crash;
			assert.equal(await srv.callWebhook(ctx.main.base, path, { ms: 600_000 }), 200);
			// Once the job holds the database: killed earlier, it would not outlive n8n as an orphan that holds it.
			const orphan = await startedRun(log, (run) => run.holding, 'the job to hold the database');
			ctx.main.child.kill('SIGKILL');
			await ctx.main.exited;
			try {
				assert.ok(h.pidAlive(orphan.pid), 'the job outlived n8n (an orphan)');
				assert.ok(existsSync(`${db}.pid`), 'and its PID file stayed');
			} finally {
				ctx.main = await start();
			}
			assert.equal(await srv.callWebhook(ctx.main.base, path), 200);
			const [blocked] = await reports(name, 1);
			assert.equal(blocked.output, 'Blocked', JSON.stringify(blocked.record.summary));
			assert.equal(blocked.record.holder.pid, orphan.pid, 'Blocked names the orphan');
			assert.equal(await srv.callWebhook(ctx.main.base, 'crash-cleanup'), 200);
			const [cleanup] = await reports('crash-cleanup', 1);
			assert.equal(cleanup.output, 'Recovered', JSON.stringify(cleanup.record));
			assert.ok(groupGone(orphan.pid), 'the orphan was stopped');
			assert.ok(!existsSync(`${db}.pid`), 'its PID file removed');
			assert.equal(await srv.callWebhook(ctx.main.base, path), 200);
			const after = await reports(name, 2);
			assert.equal(after[1].output, 'Success', after[1].record.summary);
		},
	);

	test('n8n stopped with SIGTERM mid-job: when n8n has exited, the job group and the PID file are gone', async () => {
		// n8n waits for running executions up to N8N_GRACEFUL_SHUTDOWN_TIMEOUT, then exits: 10 s here.
		await ctx.main.stop();
		ctx.main = await start({ N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10' });
		try {
			const { path, log, db } = ctx.wf.sigterm;
			assert.equal(await srv.callWebhook(ctx.main.base, path), 200);
			const job = await startedRun(log, () => true, 'the job');
			const exit = await ctx.main.stop();
			assert.equal(exit.signal, null, `n8n exited by itself after its graceful timeout (${JSON.stringify(exit)})`);
			// The exit hook's SIGKILL was sent as n8n exited; give the kernel a moment to take the group down.
			await h.waitFor(() => groupGone(job.pid), { timeoutMs: 2000, intervalMs: 20, what: 'the job group to go' });
			assert.ok(!existsSync(`${db}.pid`), 'PID file removed');
		} finally {
			ctx.main = await start();
		}
	});

	test(
		'a schedule (every 2 s) and webhook calls on one database: never two jobs at once',
		{ timeout: 4 * MIN },
		async () => {
			const db = join(ctx.dataDir, 'scheduled.duckdb');
			const log = join(ctx.dataDir, 'scheduled.jobs.log');
			const common = { db, log, pkgDir: ctx.install.pkgDir, sinkUrl: ctx.sink.url, ms: 1500 };
			const scheduled = await ctx.main.rest.publish(
				wf.holdWorkflow({ name: 'scheduled', scheduleSeconds: 2, ...common }),
			);
			await ctx.main.rest.publish(wf.holdWorkflow({ name: 'scheduled-webhook', path: 'scheduled-webhook', ...common }));
			const end = Date.now() + 20_000;
			while (Date.now() < end) {
				await Promise.all([1, 2].map(() => srv.callWebhook(ctx.main.base, 'scheduled-webhook')));
				await h.sleep(700);
			}
			await ctx.main.rest.unpublish(scheduled);
			await h.sleep(2500);
			const runs = jobRuns(log);
			const outcomes = ctx.sink.messages.filter((m) => m.json?.workflow?.startsWith('scheduled')).map((m) => m.json);
			assert.deepEqual(overlaps(runs), [], 'no two jobs overlapped');
			assert.ok(runs.filter((r) => r.end).length >= 4, `${runs.length} jobs ran`);
			assert.ok(
				outcomes.some((o) => o.workflow === 'scheduled' && o.output === 'Success'),
				'the schedule ran jobs',
			);
			const other = (o) => (o.workflow === 'scheduled' ? '"scheduled-webhook"' : '"scheduled"');
			assert.ok(
				outcomes.some((o) => o.output === 'Blocked' && String(o.record.holder?.owner).includes(other(o))),
				`a scheduled run and a webhook run blocked each other: ${JSON.stringify(outcomes.map((o) => [o.workflow, o.output, o.record.holder?.owner]))}`,
			);
			assert.ok(
				outcomes.every((o) => ['Success', 'Blocked'].includes(o.output)),
				JSON.stringify(outcomes.map((o) => o.output)),
			);
		},
	);
});
