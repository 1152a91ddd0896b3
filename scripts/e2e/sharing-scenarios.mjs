// The sharing scenarios of the demo and the e2e suite: the database is shared with a dashboard API whose workers
// hold long-lived read-only DuckDB connections (test/fixtures/cotenant-api, built into dist/ by the setup).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as h from './harness.mjs';

export const SHARING_WF = {
	readerLetsGo: 'duckdbDemoReaderLetsGo',
	handshake: 'duckdbDemoHandshake',
	handshakeHalf: 'duckdbDemoHandshakeHalf',
};

/** The demo workflow's ingest node given a wait and, with `apiPort`, the Before/After handshake with the API. */
function sharingVariant(demo, { id, name, values, waitSeconds, apiPort }) {
	const wf = h.variant(demo, { id, name, values });
	const node = wf.nodes.find((n) => n.name === 'DuckDB Safe Ingest');
	node.parameters.waitSeconds = waitSeconds;
	if (apiPort) {
		Object.assign(node.parameters, {
			beforeRun: 'request',
			beforeMethod: 'POST',
			beforeUrl: `http://127.0.0.1:${apiPort}/prepare`,
			afterRun: 'request',
			afterMethod: 'POST',
			afterUrl: `http://127.0.0.1:${apiPort}/refresh`,
			hookAuthentication: 'credential',
		});
		node.credentials = { duckDbHookAuthApi: { id: h.DEMO_HOOK_AUTH.id, name: h.DEMO_HOOK_AUTH.name } };
	}
	return wf;
}

/** The workflows the sharing scenarios run; the API they call listens on `apiPort` (started per scenario). */
export function sharingWorkflows(demo, { common, db, apiPort }) {
	return [
		sharingVariant(demo, {
			id: SHARING_WF.readerLetsGo,
			name: 'Demo: a dashboard lets go within the wait',
			values: { ...common, dbPath: db('reader-lets-go') },
			waitSeconds: 30,
		}),
		sharingVariant(demo, {
			id: SHARING_WF.handshake,
			name: 'Demo: handshake with the API (Before /prepare, After /refresh)',
			values: { ...common, dbPath: db('handshake') },
			waitSeconds: 30,
			apiPort,
		}),
		sharingVariant(demo, {
			id: SHARING_WF.handshakeHalf,
			name: 'Demo: handshake, /prepare reaches one worker of two',
			values: { ...common, dbPath: db('handshake-half') },
			waitSeconds: 3,
			apiPort,
		}),
	];
}

/** A DuckDB file with one table (readers can only open a file that exists), made with the installed package's client. */
async function createDatabase(pkgDir, dbPath) {
	const { DuckDBInstance } = createRequire(join(pkgDir, 'package.json'))('@duckdb/node-api');
	const instance = await DuckDBInstance.create(dbPath);
	const connection = await instance.connect();
	await connection.run('CREATE TABLE IF NOT EXISTS api_meta AS SELECT 1 AS version');
	connection.closeSync();
	instance.closeSync();
}

/** Starts the co-tenant API (our fixture, under this Node); resolves once its workers hold the database. */
async function startApi(options) {
	const script = join(h.ROOT, 'dist', 'test', 'fixtures', 'cotenant-api.js');
	const child = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
	const exited = new Promise((resolve) => child.once('exit', resolve));
	const ready = await new Promise((resolve, reject) => {
		const lines = createInterface({ input: child.stdout });
		lines.on('line', (line) => line.includes('"ready"') && resolve(JSON.parse(line)));
		child.once('exit', (code) => reject(new Error(`the co-tenant API exited (${code}) before it was ready`)));
	});
	const url = `http://127.0.0.1:${ready.port}`;
	return {
		workers: ready.workers,
		stats: async () => (await fetch(`${url}/stats`)).json(),
		letGo: () => fetch(`${url}/prepare`, { method: 'POST' }),
		stop: async () => {
			child.kill('SIGTERM');
			await exited;
		},
	};
}

/** Runs workflow `id` (with `execute` of scenarios.mjs) while the API shares its database; the run and what the API saw. */
async function withApi(ctx, execute, { id, db, api, during }) {
	const dbPath = ctx.db(db);
	await createDatabase(ctx.pkgDir, dbPath);
	const server = await startApi({ db: dbPath, port: ctx.apiPort, ...api });
	try {
		const [run] = await Promise.all([execute(ctx, id), during?.(server, dbPath)]);
		return { ...run, workers: server.workers, stats: await server.stats() };
	} finally {
		await server.stop();
	}
}

/**
 * A dashboard (one worker) reads the database; 4 s after the run took our lock (n8n's start takes longer than
 * that, so it is counted from the PID file) its query ends and it closes the file. The run waits (30 s), then succeeds.
 */
export const readerLetsGoRun = (ctx, execute) =>
	withApi(ctx, execute, {
		id: SHARING_WF.readerLetsGo,
		db: 'reader-lets-go',
		api: { workers: 1 },
		during: async (server, dbPath) => {
			await h.waitFor(() => existsSync(`${dbPath}.pid`), {
				timeoutMs: 120_000,
				intervalMs: 50,
				what: 'the run to take our lock',
			});
			await h.sleep(4000);
			await server.letGo();
		},
	});

/** The API (two workers) is asked to let go (Before), the job runs, the API is told to come back (After). */
export const handshakeRun = (ctx, execute) =>
	withApi(ctx, execute, { id: SHARING_WF.handshake, db: 'handshake', api: {} });

/** /prepare reaches only the first worker: the wait (3 s) runs out, Blocked names the second; After still sent. */
export const handshakeHalfRun = (ctx, execute) =>
	withApi(ctx, execute, { id: SHARING_WF.handshakeHalf, db: 'handshake-half', api: { reaches: 1 } });
