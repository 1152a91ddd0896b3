/**
 * DuckDB Safe Ingest (Run Command) executed by n8n's real WorkflowExecute, with real jobs, real locks and real DuckDB
 * files; run once per engine line (ENGINE_LINE=v2, then v1: scripts/run-tests.mjs).
 */
// Must come first: for the 1.x line it makes the nodes' `n8n-workflow` the one n8n-core 1.x uses.
import '../helpers/engine-line';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { ALLOWLIST_ENV } from '../../lib/proc/allowlist';
import { nodeBench } from '../helpers/node-bench';
import { args, connect, ingestNode, json } from '../helpers/workflow';
import { nodeChild } from '../helpers/processes';
import { assertJobGoneAndUnlocked, recordedJob } from '../helpers/jobs';

const { line, engine, freshDb } = nodeBench('safe-ingest');

test(`[${line}] the nodes really run against n8n-workflow ${line === 'v1' ? '1' : '2'}.x, the one that engine line uses`, () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { version } = require(require.resolve('n8n-workflow').replace(/dist\/.*$/, 'package.json')) as {
		version: string;
	};
	assert.match(version, line === 'v1' ? /^1\./ : /^2\./);
});

test(`[${line}] routes each outcome to its output: Success, Blocked, Timeout, Failed, with pairedItem`, async () => {
	const db = freshDb();
	const success = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'sh', arguments: args('-c', 'echo ingested') })],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(success.status, 'success', success.error?.message);
	const [ok, blocked, timeout, failed] = success.outputs('Ingest');
	assert.equal(ok.length, 1);
	assert.deepEqual([blocked.length, timeout.length, failed.length], [0, 0, 0]);
	assert.equal(ok[0].json.status, 'success');
	assert.deepEqual(ok[0].pairedItem, { item: 0 });
	assert.match(String(ok[0].json.summary), /^Success: sh -c/);
	assert.equal((ok[0].json.output as IDataObject & { stdout: { tail: string } }).stdout.tail, 'ingested\n');

	const holder = nodeChild('lock-actor');
	await holder.next('ready');
	holder.send({ cmd: 'acquire', db });
	await holder.next('acquire');
	const blockedRun = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'true' })],
		connections: connect('Start', 'Ingest'),
	});
	const blockedItem = json(blockedRun.outputs('Ingest')[1])[0];
	assert.equal(blockedItem?.status, 'blocked');
	assert.equal((blockedItem?.holder as IDataObject).pid, holder.pid);
	holder.send({ cmd: 'release' });
	await holder.next('release');

	const timedOut = await engine.run({
		nodes: [
			ingestNode({
				databasePath: db,
				command: 'sleep',
				arguments: args('600'),
				timeoutMinutes: 0.01,
				graceSeconds: 0.5,
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(json(timedOut.outputs('Ingest')[2])[0]?.status, 'timeout');

	const failedRun = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'sh', arguments: args('-c', 'echo broken >&2; exit 3') })],
		connections: connect('Start', 'Ingest'),
	});
	const failedItem = json(failedRun.outputs('Ingest')[3])[0];
	assert.equal(failedItem?.status, 'failed');
	assert.equal(failedItem?.exitCode, 3);
	const notFound = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'no-such-command-xyz' })],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(
		json(notFound.outputs('Ingest')[3])[0]?.exitCode,
		127,
		'command not found is an item on Failed, not an error',
	);
	assert.equal(existsSync(`${db}.pid`), false);
});

test(`[${line}] three input items with expressions in the arguments make three runs; injection text arrives verbatim as one argv element`, async () => {
	const db = freshDb();
	const evil = '$(touch /tmp/pwned-by-expression); rm -rf /nonexistent-dir';
	const run = await engine.run({
		items: [{ symbol: 'BTCUSDT' }, { symbol: 'ETHUSDT' }, { symbol: evil }],
		nodes: [ingestNode({ databasePath: db, command: 'printf', arguments: args('[%s]', '={{ $json.symbol }}') })],
		connections: connect('Start', 'Ingest'),
	});
	const items = run.outputs('Ingest')[0];
	assert.equal(items.length, 3, run.error?.message);
	assert.deepEqual(
		items.map((entry) => (entry.json.output as { stdout: { tail: string } }).stdout.tail),
		['[BTCUSDT]', '[ETHUSDT]', `[${evil}]`],
	);
	assert.deepEqual(
		items.map((entry) => entry.pairedItem),
		[{ item: 0 }, { item: 1 }, { item: 2 }],
	);
	assert.deepEqual(
		items.map((entry) => (entry.json.command as string[])[2]),
		['BTCUSDT', 'ETHUSDT', evil],
	);
});

test(`[${line}] "Continue (using error output)": a failed job stays on Failed, a misconfiguration goes to Error`, async () => {
	const db = freshDb();
	const run = await engine.run({
		items: [{ timeout: 1 }, { timeout: 'abc' }],
		nodes: [
			ingestNode(
				{ databasePath: db, command: 'sh', arguments: args('-c', 'exit 3'), timeoutMinutes: '={{ $json.timeout }}' },
				{ onError: 'continueErrorOutput' },
			),
		],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(run.status, 'success', run.error?.message);
	const outputs = run.outputs('Ingest');
	assert.equal(json(outputs[3])[0]?.status, 'failed');
	assert.equal(outputs[3].length, 1);
	assert.equal(outputs[4]?.length, 1, 'the Error output holds the misconfigured item');
	assert.match(String(outputs[4][0].json.error), /Timeout \(Minutes\) must be a number greater than 0 \(got "abc"\)/);
	assert.deepEqual(outputs[4][0].pairedItem, { item: 1 });

	const stopped = await engine.run({
		nodes: [ingestNode({ databasePath: '={{ "" }}', command: 'true' })],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(stopped.status, 'error');
	assert.match(stopped.error?.message ?? '', /Database Path is empty/);
});

test(`[${line}] aborting the execution while the job runs stops the job group and removes the PID file`, async () => {
	const db = freshDb();
	const execution = engine.start({
		nodes: [
			ingestNode(
				{ databasePath: db, command: 'sh', arguments: args('-c', 'sleep 600 & sleep 600'), graceSeconds: 1 },
				{ onError: 'continueRegularOutput' },
			),
		],
		connections: connect('Start', 'Ingest'),
	});
	const jobPid = (await recordedJob(db)).pid;
	assert.match(
		readFileSync(`${db}.pid`, 'utf8'),
		/owner=n8n workflow wf-test "engine test" execution exec-.* node "Ingest"/,
	);
	execution.cancel();
	const run = await execution.done;
	assert.equal(run.status, 'canceled');
	await assertJobGoneAndUnlocked(jobPid, db);
	const items = run.outputs('Ingest').flat();
	assert.ok(
		!items.some((entry) => entry.json.status === 'canceled'),
		'Continue on fail never turns a cancellation into an item',
	);
});

test(`[${line}] a database outside N8N_RESTRICT_FILE_ACCESS_TO is refused before anything runs`, async () => {
	const outside = mkdtempSync(join(process.env.HOME ?? '/root', '.nodes-test-outside-'));
	try {
		const db = join(outside, 'x.duckdb');
		const run = await engine.run({
			nodes: [ingestNode({ databasePath: db, command: 'true' })],
			connections: connect('Start', 'Ingest'),
		});
		assert.equal(run.status, 'error');
		assert.match(run.error?.message ?? '', /not allowed on this n8n instance/);
		assert.equal(existsSync(`${db}.pid`), false);
	} finally {
		rmSync(outside, { recursive: true, force: true });
	}
});

test(`[${line}] the admin allowlist refuses other commands and shells, and allows listed ones`, async () => {
	const db = freshDb();
	process.env[ALLOWLIST_ENV] = ['/usr/bin/printf', '/nonexistent/folder'].join(':');
	const refused = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'sh', arguments: args('-c', 'true') })],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(refused.status, 'error');
	assert.match(refused.error?.message ?? '', /is not allowlisted\. Ask your n8n instance admin/);
	const shell = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'printf', arguments: args('x'), useShell: true })],
		connections: connect('Start', 'Ingest'),
	});
	assert.match(shell.error?.message ?? '', /Use Shell needs the shell .* not allowlisted/);
	const allowed = await engine.run({
		nodes: [ingestNode({ databasePath: db, command: 'printf', arguments: args('ok') })],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(json(allowed.outputs('Ingest')[0])[0]?.status, 'success', allowed.error?.message);
	// A listed program told to load other code through its environment would run anything: refused.
	const preload = await engine.run({
		nodes: [
			ingestNode({
				databasePath: db,
				command: 'printf',
				arguments: args('ok'),
				environment: { variable: [{ name: 'LD_PRELOAD', value: '/tmp/evil.so' }] },
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	assert.equal(preload.status, 'error');
	assert.match(
		preload.error?.message ?? '',
		/The environment variable LD_PRELOAD can make an allowlisted program run other code/,
	);
});

test(`[${line}] job secrets from the credential reach the job and are masked in tails, summary and errors`, async () => {
	const db = freshDb();
	const secret = ['fake', 'token', String(Date.now())].join('-');
	const run = await engine.run({
		nodes: [
			ingestNode(
				{
					databasePath: db,
					command: 'sh',
					arguments: args('-c', 'echo "token=$API_TOKEN"; echo "auth failed for $API_TOKEN" >&2; exit 2'),
				},
				{ credentials: { duckDbJobSecretsApi: { id: '1', name: 'secrets' } } },
			),
		],
		connections: connect('Start', 'Ingest'),
		credentials: { duckDbJobSecretsApi: { name1: 'API_TOKEN', value1: secret } },
	});
	const item = json(run.outputs('Ingest')[3])[0];
	assert.ok(item, run.error?.message);
	const text = JSON.stringify(item);
	assert.ok(!text.includes(secret), 'the secret appears nowhere in the item');
	assert.match(
		String((item.output as { stdout: { tail: string } }).stdout.tail),
		/^token=\*{8}\n$/,
		'the job received it (masked here)',
	);
	assert.match(String(item.summary), /auth failed for \*{8}$/);

	// An error that quotes a secret (here in the working directory's path): masked in everything n8n keeps of it.
	const failing = await engine.run({
		nodes: [
			ingestNode(
				{ databasePath: db, command: 'true', workingDirectory: `/nonexistent-${secret}` },
				{ credentials: { duckDbJobSecretsApi: { id: '1', name: 'secrets' } } },
			),
		],
		connections: connect('Start', 'Ingest'),
		credentials: { duckDbJobSecretsApi: { name1: 'API_TOKEN', value1: secret } },
	});
	assert.equal(failing.status, 'error');
	assert.match(failing.error?.message ?? '', /nonexistent-\*{8}/);
	assert.ok(
		!JSON.stringify(failing.error, ['message', 'description', 'stack']).includes(secret),
		'the secret appears nowhere in the error',
	);
	assert.ok(JSON.stringify(failing.error, ['stack']).includes('nonexistent-'), 'the stack was looked at');
});
