// End-to-end: a real n8n 2.x runs the demo workflows with this package installed the way n8n's
// Community Nodes installer does it (npm pack + npm install --install-strategy=shallow in <user folder>/.n8n/nodes).
// Discord is a local HTTP sink. Run with `npm run test:e2e` (first use installs n8n: ~6 min, then cached).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as h from '../scripts/e2e/harness.mjs';
import * as s from '../scripts/e2e/scenarios.mjs';

const MIN = 60_000;
let ctx;

function only(run, index) {
	assert.ok(
		run.result,
		`n8n execute printed no JSON result (exit ${run.proc.code})\nstdout:\n${run.proc.stdout.slice(-3000)}\nstderr:\n${run.proc.stderr.slice(-3000)}`,
	);
	assert.deepEqual(
		run.fired.map((o) => o.index),
		[index],
		`expected only output ${index} to fire; fired: ${JSON.stringify(run.fired.map((o) => [o.name, o.items.map((i) => i.summary)]))}`,
	);
	assert.equal(run.fired[0].items.length, 1);
	return run.fired[0].items[0];
}

describe('n8n 2.x end-to-end', { timeout: 15 * MIN }, () => {
	before(
		async () => {
			ctx = await s.setup();
		},
		{ timeout: 12 * MIN },
	);

	after(async () => {
		if (ctx) await s.teardown(ctx);
	});

	test('the installed package holds both nodes, the demo job and its data', () => {
		const pkg = JSON.parse(readFileSync(join(ctx.pkgDir, 'package.json'), 'utf8'));
		assert.equal(pkg.name, h.PKG);
		for (const f of [
			...pkg.n8n.nodes,
			...pkg.n8n.credentials,
			'demo/ingest-aggtrades.mjs',
			'demo/data/BTCUSDT-aggTrades-2024-01-01.csv',
		]) {
			assert.ok(existsSync(join(ctx.pkgDir, f)), `${f} installed`);
		}
		assert.ok(!existsSync(join(ctx.pkgDir, 'test-e2e')), 'tests are not shipped');
	});

	test('normal run -> Success, Discord told, rows in DuckDB', { timeout: 3 * MIN }, async () => {
		const run = await s.successRun(ctx);
		const out = only(run, 0);
		assert.equal(out.status, 'success');
		assert.equal(out.exitCode, 0);
		assert.equal(out.lock.acquired, true);
		assert.equal(out.lock.released, true);
		assert.ok(!existsSync(`${ctx.db('success')}.pid`), 'PID file removed');
		assert.equal(run.messages.length, 1);
		assert.match(run.messages[0].content, /^✅ Success: .*success\.duckdb/);
		assert.match(run.messages[0].content, /3000 rows loaded/);
		// DuckDB works inside the installed package: read back with its own @duckdb/node-api.
		assert.deepEqual(await h.countRows(ctx.pkgDir, ctx.db('success')), { rows: 3000, days: 3 });
	});

	test(
		'Insert Rows in n8n: items from a Code node into a table; a re-run with Insert or Ignore adds nothing',
		{ timeout: 4 * MIN },
		async () => {
			const first = only(await s.insertRowsRun(ctx), 0);
			assert.equal(first.operation, 'insertRows');
			assert.deepEqual(first.insert.rows, { inserted: 1000, ignored: 0, updated: 0 });
			assert.deepEqual(first.insert.batches, { size: 500, total: 2, committed: 2 });
			const again = only(await s.insertRowsRun(ctx), 0);
			assert.deepEqual(again.insert.rows, { inserted: 0, ignored: 1000, updated: 0 });
			assert.equal(again.insert.tableRows, 1000);
			const later = only(await s.insertRowsRun(ctx, true), 0);
			assert.deepEqual(later.insert.rows, { inserted: 500, ignored: 500, updated: 0 });
			assert.equal(later.insert.tableRows, 1500);
			assert.ok(!existsSync(`${ctx.db('insert-rows')}.pid`), 'PID file removed');
		},
	);

	test(
		'Ingest Files in n8n -> Success with 3 files; the next execution skips them all',
		{ timeout: 4 * MIN },
		async () => {
			const first = await s.ingestFilesRun(ctx);
			const out = only(first, 0);
			assert.equal(out.operation, 'ingestFiles');
			assert.deepEqual(out.ingest.files, { matched: 3, ingested: 3, skipped: 0, failed: 0, notAttempted: 0 });
			assert.equal(out.ingest.rows, 3000);
			assert.match(
				first.messages[0]?.content ?? '',
				/^📥 Success: ingested 3 files \(3,000 rows.*\nTable rows now: 3000/,
			);
			const second = only(await s.ingestFilesRun(ctx), 0);
			assert.equal(second.ingest.files.skipped, 3);
			assert.equal(await h.tableCount(ctx.pkgDir, ctx.db('ingest-files'), 'agg_trades'), 3000);
			assert.ok(!existsSync(`${ctx.db('ingest-files')}.pid`), 'PID file removed');
		},
	);

	test('two runs at once -> one Success, one Blocked naming the holder', { timeout: 4 * MIN }, async () => {
		const { first, second, messages } = await s.concurrentRuns(ctx);
		const a = only(first, 0);
		const b = only(second, 1);
		assert.equal(a.status, 'success');
		assert.equal(b.status, 'blocked');
		assert.equal(b.holder.pid, a.jobPid, 'Blocked names the running job');
		assert.equal(b.jobPid ?? null, null, 'blocked run started no job');
		assert.match(b.summary, /^Blocked: concurrent\.duckdb is held by PID \d+/);
		assert.equal(messages.length, 2);
		assert.equal(
			messages.filter((m) => m.content.startsWith('⛔ Blocked: concurrent.duckdb is held by PID')).length,
			1,
		);
		assert.equal(messages.filter((m) => m.content.startsWith('✅ Success:')).length, 1);
		assert.deepEqual(await h.countRows(ctx.pkgDir, ctx.db('concurrent')), { rows: 3000, days: 3 });
	});

	test('job exceeding its timeout -> Timeout, whole group stopped', { timeout: 3 * MIN }, async () => {
		const run = await s.timeoutRun(ctx);
		const out = only(run, 2);
		assert.equal(out.status, 'timeout');
		assert.ok(out.durationMs >= 5_500 && out.durationMs < 60_000, `durationMs ${out.durationMs}`);
		assert.ok(out.jobPid > 0);
		assert.deepEqual(h.processGroupMembers(out.jobPid), [], 'no process of the job group survives');
		assert.ok(!existsSync(`${ctx.db('timeout')}.pid`), 'PID file removed');
		assert.equal(run.messages.length, 1);
		assert.match(run.messages[0].content, /^⏱️ Timeout: .*timeout\.duckdb/);
	});

	test(
		'failing job -> Failed with its stderr; its Job Secrets credential reached it and is masked',
		{ timeout: 3 * MIN },
		async () => {
			const run = await s.failedRun(ctx);
			const out = only(run, 3);
			assert.equal(out.status, 'failed');
			assert.equal(out.exitCode, 2);
			assert.match(out.output.stderr.tail, /simulated failure/);
			assert.equal(run.messages.length, 1);
			assert.match(run.messages[0].content, /^❌ Failed: .*exited with code 2/);
			assert.match(run.messages[0].content, /upstream returned HTTP 503/);
			// The job got the Job Secrets credential from n8n's encrypted store; its value is masked wherever it shows.
			assert.match(out.output.stderr.tail, /\(API key \*{8}\)/, 'the job received the secret');
			assert.ok(
				!JSON.stringify(run.result).includes(h.DEMO_SECRET.value),
				'the secret appears nowhere in the execution',
			);
			assert.ok(!run.messages[0].content.includes(h.DEMO_SECRET.value), 'nor in the Discord message');
		},
	);

	test(
		'workflow executionTimeout while the job runs stops the job group and removes the PID file',
		{ timeout: 4 * MIN },
		async () => {
			const run = await s.executionTimeoutRun(ctx);
			assert.ok(run.jobPid > 0, `the job started and wrote its PID file (${run.watchError?.message ?? ''})`);
			assert.ok(
				run.ms < 90_000,
				`execution ended by executionTimeout (5 s), not by the node timeout (10 min): took ${run.ms} ms`,
			);
			// A canceled execution prints no result JSON, only the error: no output branch ran, as the sink confirms below.
			assert.notEqual(run.proc.code, 0, 'n8n execute reports the failed execution');
			assert.match(
				run.proc.stdout,
				/TimeoutExecutionCancelledError: The execution was cancelled because it timed out/,
				'canceled by the workflow executionTimeout',
			);
			assert.deepEqual(run.survivors, [], `no process of group ${run.jobPid} survives`);
			assert.equal(run.pidFileLeft, false, 'PID file removed');
			assert.equal(run.messages.length, 0, 'no Discord message for a canceled execution');
		},
	);

	test(
		'crashed run: Lock Cleanup says Held while the job lives, Recovered after it died',
		{ timeout: 4 * MIN },
		async () => {
			const r = await s.crashAndCleanup(ctx);
			const held = only(r.held, 2);
			assert.equal(held.state, 'held');
			assert.ok(
				held.holders.some((x) => x.pid === r.jobPid),
				'holder is the hung job',
			);
			assert.match(r.held.messages[0]?.content ?? '', /^🔒 Held: /);
			assert.equal(r.walBefore, true, 'the SIGKILLed job left a WAL');
			const rec = only(r.recovered, 1);
			assert.equal(rec.state, 'recovered');
			assert.ok(
				rec.actions.some((a) => a.done && /pid/i.test(a.action)),
				`stale PID file removed: ${JSON.stringify(rec.actions)}`,
			);
			assert.equal(r.pidFileAfter, false);
			assert.equal(r.walAfter, false, 'WAL replayed');
			assert.match(r.recovered.messages[0]?.content ?? '', /^🧹 Recovered: /);
			assert.deepEqual(
				await h.countRows(ctx.pkgDir, ctx.db('crash')),
				{ rows: 1000, days: 1 },
				'the committed first file survived the crash',
			);
		},
	);

	test('a dashboard that lets go within the wait -> Success after it let go', { timeout: 3 * MIN }, async () => {
		const run = await s.readerLetsGoRun(ctx);
		const out = only(run, 0);
		assert.equal(out.status, 'success', out.summary);
		assert.ok(out.lock.databaseWaitedMs >= 3000, `waited ${out.lock.databaseWaitedMs} ms for the reader`);
		assert.equal(run.stats.workers[0].open, false, 'the reader had let go (and was not asked to come back)');
		assert.match(out.summary, /waited [\d.]+s for other holders of the database to let go/);
		assert.deepEqual(await h.countRows(ctx.pkgDir, ctx.db('reader-lets-go')), { rows: 3000, days: 3 });
	});

	test(
		'handshake: Before /prepare lets the API workers go, the job runs, After /refresh brings them back',
		{ timeout: 3 * MIN },
		async () => {
			const run = await s.handshakeRun(ctx);
			const out = only(run, 0);
			assert.equal(out.status, 'success', out.summary);
			assert.deepEqual(
				out.hooks.map((hook) => [hook.phase, hook.ok, hook.statusCode]),
				[
					['before', true, 200],
					['after', true, 200],
				],
			);
			assert.equal(run.stats.prepare, 1);
			assert.equal(run.stats.refresh, 1);
			assert.deepEqual(
				run.stats.workers.map((w) => w.open),
				[true, true],
				'both workers reopened',
			);
			assert.equal(JSON.parse(run.stats.bodies[1]).status, 'success', 'the After body is the outcome record');
			assert.deepEqual(run.stats.keys, [h.DEMO_HOOK_AUTH.secret, h.DEMO_HOOK_AUTH.secret], 'the credential was sent');
			assert.ok(!JSON.stringify(run.result).includes(h.DEMO_HOOK_AUTH.secret), 'and appears nowhere in the execution');
			assert.deepEqual(await h.countRows(ctx.pkgDir, ctx.db('handshake')), { rows: 3000, days: 3 });
		},
	);

	test(
		'handshake whose /prepare reaches one worker of two -> Blocked naming the other; After still called',
		{ timeout: 3 * MIN },
		async () => {
			const run = await s.handshakeHalfRun(ctx);
			const out = only(run, 1);
			assert.equal(out.status, 'blocked');
			assert.equal(out.holder.pid, run.workers[1]);
			assert.match(out.summary, new RegExp(`held by PID ${run.workers[1]} \\(.*reading \\(read-only\\)`));
			assert.equal(out.jobPid ?? null, null, 'no job started');
			assert.equal(run.stats.refresh, 1, 'After called');
			assert.deepEqual(
				run.stats.workers.map((w) => w.open),
				[true, true],
			);
			assert.ok(!existsSync(`${ctx.db('handshake-half')}.pid`), 'PID file removed');
		},
	);
});
