#!/usr/bin/env node
// npm run demo            run the scenarios against a real n8n 2.x and print what each one produced
// npm run demo -- --ui    start `n8n start` on 127.0.0.1 with the package and the demo workflows loaded
//
// Needs: network access on first use (scripts/prepare-n8n.sh installs n8n 2.41.1 + Node 24, ~6 min, cached).
// Everything happens in a temporary folder; the n8n instance, the Discord "webhook" (a local HTTP sink on
// 127.0.0.1) and the DuckDB files are all local.
import * as h from './e2e/harness.mjs';
import * as s from './e2e/scenarios.mjs';

const args = process.argv.slice(2);
const ui = args.includes('--ui');

function show(title, run, outputs = h.OUTPUTS.ingest, nodeName = s.INGEST) {
	console.log(`\n=== ${title} ===`);
	if (!run.result) {
		const msg = run.proc.stdout.split('\n').find((l) => /cancel|timed out/i.test(l)) ?? run.proc.stderr.slice(-1500);
		console.log(`  n8n execute exit ${run.proc.code}, no outcome output fired; n8n says: ${msg}`);
		console.log(
			`  Discord received: ${run.messages.length ? run.messages.map((m) => m.content).join(' | ') : '(nothing)'}`,
		);
		console.log(`  (n8n execute took ${(run.ms / 1000).toFixed(1)} s)`);
		return;
	}
	if (run.fired.length === 0)
		console.log(`  ${nodeName}: no output fired${run.error ? ` (error: ${run.error.message})` : ''}`);
	for (const o of run.fired)
		for (const item of o.items) console.log(`  ${nodeName} -> output ${o.index} "${o.name}": ${item.summary}`);
	if (run.error && run.fired.length) console.log(`  workflow error: ${run.error.message}`);
	for (const m of run.messages)
		console.log(`  Discord received: ${String(m.content ?? m.body).replace(/\n/g, '\n                    ')}`);
	if (run.messages.length === 0) console.log('  Discord received: (nothing)');
	console.log(`  (n8n execute took ${(run.ms / 1000).toFixed(1)} s)`);
}

async function runScenarios(ctx) {
	show('1. Normal run', await s.successRun(ctx));
	const rows = await h.countRows(ctx.pkgDir, ctx.db('success'));
	console.log(`  DuckDB check: agg_trades holds ${rows.rows} rows over ${rows.days} days`);

	const c = await s.concurrentRuns(ctx);
	console.log('\n=== 2. Two runs at once (same database) ===');
	for (const [label, run] of [
		['first ', c.first],
		['second', c.second],
	]) {
		for (const o of run.fired)
			for (const item of o.items) console.log(`  ${label} run -> output ${o.index} "${o.name}": ${item.summary}`);
		if (!run.fired.length)
			console.log(`  ${label} run -> nothing fired (exit ${run.proc.code}) ${run.error?.message ?? ''}`);
	}
	for (const m of c.messages)
		console.log(`  Discord received: ${String(m.content).replace(/\n/g, '\n                    ')}`);

	show('3. Job exceeds its timeout (node timeout 0.1 min)', await s.timeoutRun(ctx));
	show('4. Failing job (--fail)', await s.failedRun(ctx));

	const et = await s.executionTimeoutRun(ctx);
	show('5. Workflow executionTimeout (5 s) fires while the job runs (node timeout 10 min)', et);
	console.log(
		`  job PID ${et.jobPid ?? '?'}: ${et.survivors?.length ? `survivors in its group: ${et.survivors.join(', ')}` : 'no process of its group survives'}; PID file ${et.pidFileLeft ? 'STILL THERE' : 'removed'}`,
	);

	const crash = await s.crashAndCleanup(ctx);
	show(
		`6a. Lock Cleanup while a hung job (PID ${crash.jobPid}) holds the database`,
		crash.held,
		h.OUTPUTS.cleanup,
		s.CLEANUP,
	);
	show(
		`6b. Lock Cleanup after that job was SIGKILLed (WAL left: ${crash.walBefore ? 'yes' : 'no'})`,
		crash.recovered,
		h.OUTPUTS.cleanup,
		s.CLEANUP,
	);
	console.log(
		`  afterwards: PID file ${crash.pidFileAfter ? 'still there' : 'gone'}, WAL ${crash.walAfter ? 'still there' : 'gone (replayed)'}`,
	);

	show('7a. Built-in Ingest Files: three CSV files into agg_trades (no script)', await s.ingestFilesRun(ctx));
	show('7b. Ingest Files again: unchanged files are skipped', await s.ingestFilesRun(ctx));

	const letGo = await s.readerLetsGoRun(ctx);
	show('8a. A dashboard reads the database and lets go after 4 s (Wait for Lock 30 s)', letGo);
	const api = (run) =>
		console.log(
			`  API: /prepare called ${run.stats.prepare}x, /refresh ${run.stats.refresh}x; workers now ${run.stats.workers.map((w) => `PID ${w.pid} ${w.open ? 'reading' : 'closed'}`).join(', ')}`,
		);
	const handshake = await s.handshakeRun(ctx);
	show('8b. An API with two read-only workers: Before POST /prepare, ingest, After POST /refresh', handshake);
	api(handshake);
	const half = await s.handshakeHalfRun(ctx);
	show(`8c. The same, but /prepare reaches only worker ${half.workers[0]} (Wait for Lock 3 s)`, half);
	api(half);
}

async function startUi(ctx) {
	const port = await h.freePort();
	const userFolder = h.cloneUserFolder(ctx.template, ctx.nextRun());
	const env = h.n8nEnv(ctx.n8n, userFolder, {
		brokerPort: await h.freePort(),
		restrictTo: ctx.dataDir,
		extra: h.serverSettings(port),
	});
	const { spawn } = await import('node:child_process');
	const child = spawn(ctx.n8n.NODE24, [ctx.n8n.N8N_BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
	child.stdout.on('data', (d) => process.stderr.write(d));
	child.stderr.on('data', (d) => process.stderr.write(d));
	const base = `http://127.0.0.1:${port}`;
	await h.waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, {
		timeoutMs: 120_000,
		intervalMs: 500,
		what: 'n8n to listen',
	});
	const owner = { email: 'demo@example.com', firstName: 'Demo', lastName: 'Owner', password: 'DemoPassw0rd!' };
	// /healthz answers before the REST routes exist: retry the owner setup until it is routed.
	let res;
	await h.waitFor(
		async () => {
			res = await fetch(`${base}/rest/owner/setup`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(owner),
			}).catch(() => undefined);
			return res && res.status !== 404;
		},
		{ timeoutMs: 120_000, intervalMs: 1000, what: 'the n8n REST API' },
	);
	console.log(`\nn8n is running at ${base}/  (owner account setup: HTTP ${res.status})`);
	console.log(`  log in as ${owner.email} / ${owner.password}`);
	console.log(
		`  workflows: ${base}/workflow/duckdbDemoSuccess  ${base}/workflow/duckdbBinanceIngest  ${base}/workflow/duckdbDemoCleanup`,
	);
	console.log(`  Discord sink: ${ctx.sink.url}; databases in ${ctx.dataDir}`);
	console.log('  Ctrl+C to stop.');
	if (process.env.DEMO_UI_READY_FILE)
		(await import('node:fs')).writeFileSync(process.env.DEMO_UI_READY_FILE, JSON.stringify({ base, ...owner }));
	const stop = () => child.kill('SIGTERM');
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	await new Promise((r) => child.on('exit', r));
}

const ctx = await s.setup();
try {
	if (ui) await startUi(ctx);
	else await runScenarios(ctx);
} finally {
	await s.teardown(ctx);
}
