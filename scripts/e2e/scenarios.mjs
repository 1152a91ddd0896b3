// The demo/e2e scenarios, shared by scripts/demo.mjs (prints) and test-e2e/ (asserts).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';
import * as sharing from './sharing-scenarios.mjs';

export const INGEST = 'DuckDB Safe Ingest';
export const CLEANUP = 'DuckDB Lock Cleanup';

/** Ids of the workflow variants imported into the template. */
export const WF = {
	success: 'duckdbDemoSuccess',
	concurrent: 'duckdbDemoConcurrent',
	timeout: 'duckdbDemoTimeout',
	failed: 'duckdbDemoFailed',
	execTimeout: 'duckdbDemoExecTimeout',
	cleanup: 'duckdbDemoCleanup',
	ingestFiles: 'duckdbDemoIngestFiles',
	insertRows: 'duckdbDemoInsertRows',
	insertRowsLater: 'duckdbDemoInsertRowsLater',
	...sharing.SHARING_WF,
};

/** The ingest node of a workflow given the demo's Job Secrets credential (n8n decrypts it for the node). */
function withJobSecrets(wf) {
	const node = wf.nodes.find((n) => n.name === INGEST);
	node.credentials = { duckDbJobSecretsApi: { id: h.DEMO_SECRET.id, name: h.DEMO_SECRET.name } };
	return wf;
}

/**
 * Builds + packs the package, installs it into a template n8n user folder, starts the Discord sink and imports
 * the demo workflow variants. Returns the context every scenario needs.
 */
export async function setup({ build = true } = {}) {
	const t0 = Date.now();
	const n8n = h.prepareN8n();
	const work = h.makeTempDir('duckdb-safe-ingest-e2e-');
	const dataDir = join(work, 'databases');
	mkdirSync(dataDir);
	h.log(`work dir ${work}`);
	const tarball = h.buildAndPack(work, { build });
	const sink = await h.startSink();
	const template = join(work, 'template');
	const pkgDir = join(template, '.n8n', 'nodes', 'node_modules', h.PKG);
	const db = (name) => join(dataDir, `${name}.duckdb`);
	const common = { script: join(pkgDir, 'demo', 'ingest-aggtrades.mjs'), dataDir: join(pkgDir, 'demo', 'data') };
	const demo = h.readJson(join(h.ROOT, 'examples', 'demo.workflow.json'));
	const demoCleanup = h.readJson(join(h.ROOT, 'examples', 'demo-cleanup.workflow.json'));
	const ingestFiles = h.readJson(join(h.ROOT, 'examples', 'ingest-files.workflow.json'));
	const insertRows = h.readJson(join(h.ROOT, 'examples', 'insert-rows.workflow.json'));
	// Ingest Files reads its sources itself, so they sit inside the instance's allowed folder (N8N_RESTRICT_FILE_ACCESS_TO).
	const sources = join(dataDir, 'sources');
	mkdirSync(sources);
	for (const name of readdirSync(join(h.ROOT, 'demo', 'data')))
		copyFileSync(join(h.ROOT, 'demo', 'data', name), join(sources, name));
	// The co-tenant API of the sharing scenarios listens here (its workflows' Before and After URLs name it).
	const apiPort = await h.freePort();
	const workflows = [
		...sharing.sharingWorkflows(demo, { common, db, apiPort }),
		h.variant(demo, { id: WF.success, name: 'Demo: normal run', values: { ...common, dbPath: db('success') } }),
		h.variant(demo, {
			id: WF.concurrent,
			name: 'Demo: two runs at once',
			values: { ...common, dbPath: db('concurrent'), throttleMs: '1500' },
		}),
		h.variant(demo, {
			id: WF.timeout,
			name: 'Demo: timeout',
			values: { ...common, dbPath: db('timeout'), throttleMs: '60000', timeoutMinutes: 0.1 },
		}),
		withJobSecrets(
			h.variant(demo, {
				id: WF.failed,
				name: 'Demo: failing job',
				values: { ...common, dbPath: db('failed'), flag: '--fail' },
			}),
		),
		h.variant(demo, {
			id: WF.execTimeout,
			name: 'Demo: workflow executionTimeout',
			values: { ...common, dbPath: db('exectimeout'), throttleMs: '60000', timeoutMinutes: 10 },
			settings: { executionTimeout: 5 },
		}),
		h.variant(demoCleanup, { id: WF.cleanup, name: 'Demo: lock cleanup', values: { dbPath: db('crash') } }),
		h.variant(ingestFiles, {
			id: WF.ingestFiles,
			name: 'Demo: Ingest Files',
			values: { dbPath: db('ingest-files'), sourceGlob: join(sources, 'BTCUSDT-aggTrades-*.csv') },
		}),
		h.variant(insertRows, {
			id: WF.insertRows,
			name: 'Demo: Insert Rows',
			values: { dbPath: db('insert-rows'), from: 1, count: 1000 },
		}),
		h.variant(insertRows, {
			id: WF.insertRowsLater,
			name: 'Demo: Insert Rows, overlapping the first',
			values: { dbPath: db('insert-rows'), from: 501, count: 1000 },
		}),
		// The production example, for the --ui instance (not executed: it runs python3 on /opt/ingest).
		h.readJson(join(h.ROOT, 'examples', 'binance-history-ingest.workflow.json')),
	];
	await h.makeTemplate(n8n, { dir: template, tarball, sinkUrl: sink.url, workflows, restrictTo: dataDir });
	h.log(`setup done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	let runNo = 0;
	const nextRun = () => join(work, `run-${++runNo}`);
	return { n8n, work, dataDir, tarball, sink, template, pkgDir, db, apiPort, nextRun };
}

export async function teardown(ctx) {
	await ctx.sink.close();
	const replayed = await h.replayLeftoverWals(ctx.pkgDir, ctx.dataDir);
	if (replayed.length) h.log(`replayed leftover WALs (DuckDB recovery) of ${replayed.join(', ')}`);
	const wals = h.removeUnlessWal(ctx.work);
	if (wals.length) h.log(`kept ${ctx.work} (it holds WAL files, which are never deleted: ${wals.join(', ')})`);
	return wals;
}

/** Runs one workflow in a fresh copy of the template; returns the parsed result, fired outputs and new Discord messages. */
export async function execute(ctx, id, { onSpawn, nodeName = INGEST, outputs = h.OUTPUTS.ingest, timeoutMs } = {}) {
	const userFolder = h.cloneUserFolder(ctx.template, ctx.nextRun());
	const env = h.n8nEnv(ctx.n8n, userFolder, { brokerPort: await h.freePort(), restrictTo: ctx.dataDir });
	const before = ctx.sink.messages.length;
	const started = Date.now();
	const proc = await h.runN8n(ctx.n8n, ['execute', `--id=${id}`, '--rawOutput'], env, { onSpawn, timeoutMs });
	const result = h.parseExecuteOutput(proc.stdout);
	// The Discord node has answered before n8n exits; give the sink a moment for the request body anyway.
	await h.sleep(200);
	return {
		proc,
		result,
		ms: Date.now() - started,
		fired: h.firedOutputs(result, nodeName, outputs),
		error: h.nodeError(result),
		messages: ctx.sink.messages.slice(before),
	};
}

export const successRun = (ctx) => execute(ctx, WF.success);
export const timeoutRun = (ctx) => execute(ctx, WF.timeout);
export const failedRun = (ctx) => execute(ctx, WF.failed);
export const ingestFilesRun = (ctx) => execute(ctx, WF.ingestFiles);
export const insertRowsRun = (ctx, later = false) => execute(ctx, later ? WF.insertRowsLater : WF.insertRows);
export const readerLetsGoRun = (ctx) => sharing.readerLetsGoRun(ctx, execute);
export const handshakeRun = (ctx) => sharing.handshakeRun(ctx, execute);
export const handshakeHalfRun = (ctx) => sharing.handshakeHalfRun(ctx, execute);

/** Two executions of the same workflow at once: the second starts once the first one's job holds the lock. */
export async function concurrentRuns(ctx) {
	const pidFile = `${ctx.db('concurrent')}.pid`;
	const first = execute(ctx, WF.concurrent);
	// The file names the supervisor first and the job a moment later: wait for the job, which Blocked must name.
	await h.waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').includes('role=job'), {
		timeoutMs: 120_000,
		intervalMs: 50,
		what: `${pidFile} naming the first run's job`,
	});
	const second = execute(ctx, WF.concurrent);
	const [a, b] = await Promise.all([first, second]);
	return { first: a, second: b, messages: [...new Set([...a.messages, ...b.messages])] };
}

/**
 * Workflow setting executionTimeout (5 s) fires while the job runs (node timeout 10 min): returns the job's
 * PID (from the PID file while it ran) and what is left afterwards.
 */
export async function executionTimeoutRun(ctx) {
	const pidFile = `${ctx.db('exectimeout')}.pid`;
	let jobPid;
	const watcher = (async () => {
		await h.waitFor(
			() =>
				existsSync(pidFile) &&
				/^\d+\n/.test(readFileSync(pidFile, 'utf8')) &&
				readFileSync(pidFile, 'utf8').includes('role=job'),
			{ timeoutMs: 120_000, intervalMs: 50, what: 'job PID file' },
		);
		jobPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
	})();
	const run = await execute(ctx, WF.execTimeout);
	await watcher.catch((e) => {
		run.watchError = e;
	});
	// Leave the supervisor its grace period to finish stopping the group.
	const survivors = jobPid ? await settle(() => h.processGroupMembers(jobPid), 15_000) : undefined;
	return { ...run, jobPid, survivors, pidFileLeft: existsSync(pidFile) };
}

async function settle(fn, ms) {
	const end = Date.now() + ms;
	let v = fn();
	while (v.length && Date.now() < end) {
		await h.sleep(200);
		v = fn();
	}
	return v;
}

/**
 * Crash + cleanup: a demo job (started here, in its own process group) loads one file and hangs, its PID planted
 * in crash.duckdb.pid as an old wrapper script would. Lock Cleanup while it lives -> Held; then the job is
 * SIGKILLed (a crash: WAL left, PID file stale) and Lock Cleanup -> Recovered.
 */
export async function crashAndCleanup(ctx) {
	const db = ctx.db('crash');
	const job = spawn(
		ctx.n8n.NODE24,
		[join(ctx.pkgDir, 'demo', 'ingest-aggtrades.mjs'), '--symbol', 'BTCUSDT', '--db', db, '--hang'],
		{ detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
	);
	let out = '';
	job.stdout.on('data', (d) => (out += d));
	job.stderr.on('data', (d) => (out += d));
	const exited = new Promise((r) => job.on('exit', r));
	writeFileSync(`${db}.pid`, `${job.pid}\n`);
	await h.waitFor(() => out.includes('sleeping forever'), {
		timeoutMs: 60_000,
		what: 'the hung job to open the database',
	});
	const held = await execute(ctx, WF.cleanup, { nodeName: CLEANUP, outputs: h.OUTPUTS.cleanup });
	job.kill('SIGKILL');
	await exited;
	const walBefore = existsSync(`${db}.wal`);
	const recovered = await execute(ctx, WF.cleanup, { nodeName: CLEANUP, outputs: h.OUTPUTS.cleanup });
	return {
		jobPid: job.pid,
		held,
		recovered,
		walBefore,
		walAfter: existsSync(`${db}.wal`),
		pidFileAfter: existsSync(`${db}.pid`),
	};
}
