/**
 * Attack through the Before/After hook URL (issue 15 review, finding 4): whoever edits a workflow picks the hook's
 * URL, so without a check the DuckDB Hook Auth credential (an API key) goes wherever they point it. The credential's
 * Allowed Hosts decides (deny by default). Real n8n 2.x engine, a real HTTP server on 127.0.0.1 playing the
 * attacker's collector; before the fix it received the key.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { credentialHostProblem, parseAllowedHosts } from '../../lib/run/hook-hosts';
import { testHookAuth } from '../../credentials/hook-auth';
import { nodeBench } from '../helpers/node-bench';
import { connect, ingestNode, json } from '../helpers/workflow';

const { engine, freshDb } = nodeBench('hook-credential');
const keys: string[] = [];
const collector = createServer((request, response) => {
	keys.push(String(request.headers['x-api-key'] ?? ''));
	response.writeHead(200).end('thanks');
});
after(() => collector.close());

async function collectorUrl(): Promise<string> {
	if (!collector.listening) await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
	return `http://127.0.0.1:${(collector.address() as AddressInfo).port}/collect`;
}

async function runWith(allowedHosts: string): Promise<{ error?: string; status?: unknown; db: string }> {
	const db = freshDb();
	const run = await engine.run({
		nodes: [
			ingestNode(
				{
					databasePath: db,
					command: 'true',
					beforeRun: 'request',
					beforeUrl: await collectorUrl(),
					hookAuthentication: 'credential',
				},
				{ credentials: { duckDbHookAuthApi: { id: '1', name: 'API key' } } },
			),
		],
		connections: connect('Start', 'Ingest'),
		credentials: { duckDbHookAuthApi: { allowedHosts, type: 'header', name: 'X-API-Key', secret: 'key-7f3a' } },
	});
	return { error: run.error?.message, status: json(run.outputs('Ingest')[0] ?? [])[0]?.status, db };
}

test('finding 4: a credential whose Allowed Hosts do not name the hook URL is not sent (the collector gets nothing)', async () => {
	for (const allowedHosts of ['api.internal', '', '127.0.0.1:1', '*.0.0.1']) {
		const before = keys.length;
		const run = await runWith(allowedHosts);
		assert.match(
			run.error ?? '',
			/Before Run: the credential (may be sent only to|lists no Allowed Hosts)/,
			allowedHosts,
		);
		assert.equal(keys.length, before, `nothing reached the collector with Allowed Hosts "${allowedHosts}"`);
		assert.equal(existsSync(`${run.db}.pid`), false, 'nothing was started, no lock left');
	}
});

test('held: with the host listed (with or without its port) the key is sent', async () => {
	const port = new URL(await collectorUrl()).port;
	for (const allowedHosts of ['127.0.0.1', `api.internal, 127.0.0.1:${port}`]) {
		const before = keys.length;
		const run = await runWith(allowedHosts);
		assert.equal(run.status, 'success', run.error);
		assert.deepEqual(keys.slice(before), ['key-7f3a'], `the key was sent with Allowed Hosts "${allowedHosts}"`);
	}
});

test('the Allowed Hosts decision: ports, subdomain wildcards, IPv6, case, garbage', () => {
	const allowed = parseAllowedHosts('API.example.com, *.svc.local  127.0.0.1:8000,[::1]');
	assert.equal(credentialHostProblem('https://api.example.com/x', allowed), undefined);
	assert.equal(credentialHostProblem('http://a.b.svc.local:9/x', allowed), undefined);
	assert.equal(credentialHostProblem('http://127.0.0.1:8000/x', allowed), undefined);
	assert.equal(credentialHostProblem('http://[::1]:5/x', allowed), undefined);
	assert.match(credentialHostProblem('http://127.0.0.1:8001/x', allowed) ?? '', /not to 127\.0\.0\.1:8001/);
	assert.match(credentialHostProblem('http://svc.local/x', allowed) ?? '', /not to svc\.local/);
	assert.match(credentialHostProblem('http://api.example.com.evil.io/', allowed) ?? '', /not to/);
	assert.match(credentialHostProblem('http://evil.io/?h=api.example.com', allowed) ?? '', /not to evil\.io/);
	assert.match(credentialHostProblem('not a url', allowed) ?? '', /is not a URL/);
});

test("the credential's Test button: empty Allowed Hosts and a header the run would refuse are errors, saying what to do", async () => {
	const check = (data: Record<string, string>) =>
		testHookAuth.call({} as never, { id: '1', name: 'API key', type: 'duckDbHookAuthApi', data });
	const empty = await check({ allowedHosts: ' , ', type: 'header', name: 'X-API-Key', secret: 'k' });
	assert.deepEqual([empty.status, /Allowed Hosts is empty/.test(empty.message)], ['Error', true]);
	const badName = await check({ allowedHosts: 'api.internal', type: 'header', name: 'X API Key', secret: 'k' });
	assert.deepEqual([badName.status, /not valid/.test(badName.message)], ['Error', true]);
	const badValue = await check({
		allowedHosts: 'api.internal',
		type: 'header',
		name: 'X-API-Key',
		secret: 'k\r\nX: y',
	});
	assert.deepEqual([badValue.status, /line break/.test(badValue.message)], ['Error', true]);
	const good = await check({ allowedHosts: 'api.internal', type: 'header', name: 'X-API-Key', secret: 'k' });
	assert.deepEqual([good.status, good.message], ['OK', 'The header X-API-Key is set, sent only to api.internal']);
});
