/**
 * Sharing the database through the nodes, executed by n8n's real WorkflowExecute (once per engine line): the Before
 * and After hooks of DuckDB Safe Ingest against a real co-tenant API (two workers with read-only DuckDB connections),
 * with the DuckDB Hook Auth credential, on success, failure, timeout, cancel and Blocked; the wait for a reader that
 * lets go; the next run of the node and the Lock Cleanup node doing an After owed by a run whose supervisor died.
 */
// Must come first: for the 1.x line it makes the nodes' `n8n-workflow` the one n8n-core 1.x uses.
import '../helpers/engine-line';
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { IDataObject } from 'n8n-workflow';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { nodeBench } from '../helpers/node-bench';
import { startCli } from '../helpers/cli';
import { args, CLEANUP, connect, ingestNode, json } from '../helpers/workflow';
import { nodeChild, sleep, stopAll } from '../helpers/processes';

const { line, engine, freshDb } = nodeBench('sharing');
afterEach(() => stopAll());

async function shared(options: { reaches?: number; letGoAfterMs?: number; workers?: number } = {}): Promise<{
	db: string;
	url: string;
	workers: number[];
	stats: () => Promise<
		IDataObject & { prepare: number; refresh: number; keys: string[]; workers: Array<{ open: boolean }> }
	>;
}> {
	const db = freshDb();
	(await DuckDBInstance.create(db)).closeSync();
	const api = nodeChild('cotenant-api', [JSON.stringify({ db, workers: 2, ...options })]);
	const ready = await api.next<{ port: number; workers: number[] }>('ready', 60_000);
	const url = `http://127.0.0.1:${ready.port}`;
	return { db, url, workers: ready.workers, stats: async () => (await fetch(`${url}/stats`)).json() as never };
}

const hooks = (url: string): IDataObject => ({
	beforeRun: 'request',
	beforeUrl: `${url}/prepare`,
	afterRun: 'request',
	afterUrl: `${url}/refresh`,
	hookAuthentication: 'credential',
	waitSeconds: 10,
});
const credentials = {
	duckDbHookAuthApi: { allowedHosts: '127.0.0.1', type: 'header', name: 'X-API-Key', secret: 'hook-key-4c2d' },
};
const withCredential = { credentials: { duckDbHookAuthApi: { id: '1', name: 'API key' } } };

test(`[${line}] Before and After through the node: the readers let go, the job runs, both come back; the key is sent, never shown`, async () => {
	const api = await shared();
	const run = await engine.run({
		nodes: [ingestNode({ databasePath: api.db, command: 'true', ...hooks(api.url) }, withCredential)],
		connections: connect('Start', 'Ingest'),
		credentials,
	});
	const item = json(run.outputs('Ingest')[0])[0];
	assert.equal(item?.status, 'success', run.error?.message ?? JSON.stringify(run.outputs('Ingest')));
	assert.deepEqual(
		(item?.hooks as IDataObject[]).map((hook) => [hook.phase, hook.ok]),
		[
			['before', true],
			['after', true],
		],
	);
	const stats = await api.stats();
	assert.deepEqual([stats.prepare, stats.refresh, stats.keys], [1, 1, ['hook-key-4c2d', 'hook-key-4c2d']]);
	assert.deepEqual(
		stats.workers.map((worker) => worker.open),
		[true, true],
	);
	assert.doesNotMatch(JSON.stringify(run.raw), /hook-key-4c2d/, 'the credential never reaches the output');
});

test(`[${line}] a failing job and a canceled execution: After is called exactly once each`, async () => {
	const failing = await shared();
	const failed = await engine.run({
		nodes: [
			ingestNode(
				{ databasePath: failing.db, command: 'sh', arguments: args('-c', 'exit 4'), ...hooks(failing.url) },
				withCredential,
			),
		],
		connections: connect('Start', 'Ingest'),
		credentials,
	});
	assert.equal(json(failed.outputs('Ingest')[3])[0]?.status, 'failed');
	assert.equal((await failing.stats()).refresh, 1);

	const canceling = await shared();
	const execution = engine.start({
		nodes: [
			ingestNode(
				{
					databasePath: canceling.db,
					command: 'sleep',
					arguments: args('30'),
					graceSeconds: 1,
					...hooks(canceling.url),
				},
				withCredential,
			),
		],
		connections: connect('Start', 'Ingest'),
		credentials,
	});
	for (
		let i = 0;
		i < 500 &&
		!/^role=job$/m.test(existsSync(`${canceling.db}.pid`) ? readFileSync(`${canceling.db}.pid`, 'utf8') : '');
		i++
	)
		await sleep(10);
	execution.cancel();
	assert.equal((await execution.done).status, 'canceled');
	for (let i = 0; i < 300 && (await canceling.stats()).refresh === 0; i++) await sleep(20);
	assert.deepEqual([(await canceling.stats()).prepare, (await canceling.stats()).refresh], [1, 1]);
});

test(`[${line}] a timeout, and a /prepare that reaches one worker (Blocked naming the other): After once each`, async () => {
	const slow = await shared();
	const timedOut = await engine.run({
		nodes: [
			ingestNode(
				{
					databasePath: slow.db,
					command: 'sleep',
					arguments: args('30'),
					timeoutMinutes: 0.02,
					graceSeconds: 1,
					...hooks(slow.url),
				},
				withCredential,
			),
		],
		connections: connect('Start', 'Ingest'),
		credentials,
	});
	assert.equal(json(timedOut.outputs('Ingest')[2])[0]?.status, 'timeout');
	assert.deepEqual([(await slow.stats()).prepare, (await slow.stats()).refresh], [1, 1]);

	const half = await shared({ reaches: 1 });
	const blocked = await engine.run({
		nodes: [ingestNode({ databasePath: half.db, command: 'true', ...hooks(half.url), waitSeconds: 1 }, withCredential)],
		connections: connect('Start', 'Ingest'),
		credentials,
	});
	const item = json(blocked.outputs('Ingest')[1])[0];
	assert.equal(item?.status, 'blocked', JSON.stringify(blocked.outputs('Ingest')));
	assert.equal((item?.holder as IDataObject).pid, half.workers[1]);
	assert.match(String(item?.summary), new RegExp(`held by PID ${half.workers[1]} \\(.*reading \\(read-only\\)`));
	assert.equal((await half.stats()).refresh, 1, 'After still called');
});

test(`[${line}] a reader that lets go within the wait: Success after it let go (no hooks)`, async () => {
	const api = await shared({ workers: 1, letGoAfterMs: 1500 });
	const run = await engine.run({
		nodes: [ingestNode({ databasePath: api.db, command: 'true', waitSeconds: 20 })],
		connections: connect('Start', 'Ingest'),
	});
	const item = json(run.outputs('Ingest')[0])[0];
	assert.equal(item?.status, 'success', JSON.stringify(run.outputs('Ingest')));
	assert.ok(Number((item?.lock as IDataObject).databaseWaitedMs) >= 1000, JSON.stringify(item?.lock));
});

test(`[${line}] Lock Cleanup with its After hook does the After a dead run owed, then removes the lock`, async () => {
	const api = await shared();
	const run = startCli('duckdb-safe-ingest', [
		'--db',
		api.db,
		'--wait',
		'10s',
		'--before-request',
		`${api.url}/prepare`,
		'--after-request',
		`${api.url}/refresh`,
		'--',
		'sleep',
		'30',
	]);
	let job = 0;
	for (let i = 0; i < 500 && !job; i++) {
		const parsed = existsSync(`${api.db}.pid`) ? parsePidFile(readFileSync(`${api.db}.pid`, 'utf8')) : undefined;
		if (parsed?.kind === 'record' && parsed.record.role === 'job') job = parsed.record.pid;
		else await sleep(10);
	}
	run.child.kill('SIGKILL');
	await run.result;
	process.kill(job, 'SIGKILL');
	for (let i = 0; i < 200 && existsSync(`/proc/${job}`); i++) await sleep(10);
	const cleanup = {
		name: 'Cleanup',
		type: CLEANUP,
		parameters: {
			databasePath: api.db,
			action: 'removeStale',
			recoverWal: false,
			afterRun: 'request',
			afterUrl: `${api.url}/refresh`,
		},
	};
	const cleaned = await engine.run({ nodes: [cleanup], connections: connect('Start', 'Cleanup') });
	const report = json(cleaned.outputs('Cleanup').flat())[0];
	assert.ok(
		(report?.actions as IDataObject[]).some((action) => action.action === 'after-hook' && action.done),
		JSON.stringify(report),
	);
	assert.equal((await api.stats()).refresh, 1);
	assert.equal(existsSync(`${api.db}.pid`), false);
});
