/**
 * The handshake when its hooks misbehave (the review of the sharing issue): an After that fails stays owed in a
 * released lock and the next run pays it first; redirects are never followed (the API key stays home); a huge answer
 * is not downloaded; a cancel reaches a Before that hangs. A real HTTP server on 127.0.0.1, real runs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runUnderLock } from '../../lib/run/supervise';
import { runHook } from '../../lib/run/hooks';
import { parsePidFile } from '../../lib/lock/pid-file-format';
import { runCli } from '../helpers/cli';
import { sleep, tempDir } from '../helpers/processes';
import { readProcess } from '../../lib/proc/identity';

const dir = tempDir();
after(() => dir.remove());
let n = 0;
const db = (): string => join(dir.path, `hooks${++n}.duckdb`);

interface Sink {
	url: string;
	seen: Array<{ path: string; auth?: string; key?: string }>;
	failAfter: boolean;
	/** The client read /huge to its end. */
	hugeRead: boolean;
	close(): Promise<void>;
}

/** /prepare and /refresh (500 while failAfter), /redirect → /elsewhere, /huge (64 MiB), /hang (never answers). */
async function sink(): Promise<Sink> {
	const state = { seen: [] as Sink['seen'], failAfter: false, hugeRead: false };
	const server: Server = createServer((request: IncomingMessage, response) => {
		const path = request.url ?? '';
		state.seen.push({ path, auth: request.headers.authorization, key: request.headers['x-api-key'] as string });
		request.resume();
		if (path === '/hang') return;
		if (path === '/redirect') return void response.writeHead(307, { location: '/elsewhere?token=s3cret' }).end();
		if (path === '/huge') {
			// 64 MiB, written only as fast as the client reads (more than the socket buffers hold): it ends only if read.
			response.writeHead(500);
			const chunk = Buffer.alloc(1 << 20, 'x');
			let sent = 0;
			const pump = (): void => {
				while (sent < 64) {
					sent++;
					if (!response.write(chunk)) return void response.once('drain', pump);
				}
				state.hugeRead = true;
				response.end();
			};
			return pump();
		}
		response.writeHead(path === '/refresh' && state.failAfter ? 500 : 200).end('ok');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return Object.assign(state, {
		url,
		close: () => {
			server.closeAllConnections();
			return new Promise<void>((resolve) => server.close(() => resolve()));
		},
	}) as Sink;
}

const count = (server: Sink, path: string): number => server.seen.filter((hit) => hit.path === path).length;

test('a failing After leaves a released lock owing it; the next run is not blocked by it and pays it first, once', async () => {
	const server = await sink();
	const path = db();
	const handshake = {
		before: { kind: 'request' as const, url: `${server.url}/prepare` },
		after: { kind: 'request' as const, url: `${server.url}/refresh` },
	};
	server.failAfter = true;
	const first = await runUnderLock({ databasePath: path, command: ['true'], handshake });
	assert.equal(first.status, 'success', first.summary);
	assert.match(first.summary, /stays owed in the lock file/);
	const record = parsePidFile(readFileSync(`${path}.pid`, 'utf8'));
	assert.ok(record.kind === 'record' && record.record.releasedAt, 'the lock file records that the run released it');
	assert.ok(
		record.kind === 'record' && record.record.afterPending?.target.endsWith('/refresh'),
		'and the After it owes',
	);

	server.failAfter = false;
	const second = await runUnderLock({ databasePath: path, command: ['true'], handshake });
	assert.equal(second.status, 'success', second.summary);
	assert.deepEqual(
		second.hooks?.map((hook) => [hook.phase, hook.ok]),
		[
			['after', true],
			['before', true],
			['after', true],
		],
	);
	// 1 failed + 1 owed + 1 own: the owed one is done exactly once.
	assert.equal(count(server, '/refresh'), 3);
	assert.equal(existsSync(`${path}.pid`), false, 'nothing is owed any more: the lock is gone');
	await server.close();
});

test('a redirect is a failure, never followed: the Authorization header does not travel, the token is masked', async () => {
	const server = await sink();
	const report = await runHook(
		{ kind: 'request', url: `${server.url}/redirect`, headers: { Authorization: 'Bearer key-123' } },
		'before',
		{ databasePath: db(), timeoutMs: 5_000 },
	);
	assert.equal(report.ok, false);
	assert.match(report.error ?? '', /redirect .*not followed/);
	assert.doesNotMatch(report.error ?? '', /s3cret/);
	assert.equal(count(server, '/elsewhere?token=s3cret'), 0, 'the redirect target was never asked');
	await server.close();
});

test('a huge answer is read only up to a few KiB; the report stays small', async () => {
	const server = await sink();
	const report = await runHook({ kind: 'request', url: `${server.url}/huge` }, 'after', {
		databasePath: db(),
		timeoutMs: 10_000,
	});
	assert.equal(report.ok, false);
	assert.ok(JSON.stringify(report).length < 2_000, `report of ${JSON.stringify(report).length} chars`);
	assert.equal(server.hugeRead, false, 'the answer was not read to its end');
	await server.close();
});

test('a cancel reaches a Before that hangs: the run ends Canceled well before the hook timeout, nothing started', async () => {
	const server = await sink();
	const controller = new AbortController();
	setTimeout(() => controller.abort(), 500);
	const started = Date.now();
	const outcome = await runUnderLock({
		databasePath: db(),
		command: ['sh', '-c', 'echo started'],
		signal: controller.signal,
		handshake: { before: { kind: 'request', url: `${server.url}/hang` }, timeoutMs: 60_000 },
	});
	assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
	assert.equal(outcome.status, 'canceled', outcome.summary);
	assert.equal(outcome.jobPid, null, 'the job never started');
	await server.close();
});

test('CLI: a bad hook URL or header is a usage error (125) before anything is taken: no PID file, no request', async () => {
	for (const [message, ...bad] of [
		[/is not a URL/, '--before-request', 'not-a-url'],
		[/http:\/\/ or https:\/\//, '--after-request', 'ftp://127.0.0.1/x'],
		[
			/header name "Bad Name" is not valid/i,
			'--after-request',
			'http://127.0.0.1:1/x',
			'--request-header',
			'Bad Name: x',
		],
		[
			/no colon\): expected "Name: value"/,
			'--after-request',
			'http://127.0.0.1:1/x',
			'--request-header',
			'tok-secret-55',
		],
		[
			/NO_SUCH_VARIABLE_HERE is not set/,
			'--after-request',
			'http://127.0.0.1:1/x',
			'--request-header-env',
			'NO_SUCH_VARIABLE_HERE',
		],
	] as Array<[RegExp, ...string[]]>) {
		const path = db();
		const result = await runCli('duckdb-safe-ingest', ['--db', path, ...bad, '--', 'true']);
		assert.equal(result.code, 125, `${bad.join(' ')}: ${result.stderr}`);
		assert.match(result.stderr, message, 'it says what is wrong');
		assert.doesNotMatch(result.stderr, /tok-secret-55/, 'a header value is never repeated');
		assert.equal(existsSync(`${path}.pid`), false);
	}
});

test('CLI: --request-header-env sends the header from the variable, never prints its value, keeps it from the job', async () => {
	const server = await sink();
	const result = await runCli(
		'duckdb-safe-ingest',
		[
			'--db',
			db(),
			'--json',
			'--after-request',
			`${server.url}/refresh`,
			'--request-header-env',
			'HOOK_KEY',
			'--',
			'sh',
			'-c',
			'printf "job sees HOOK_KEY=%s\\n" "${HOOK_KEY-unset}"',
		],
		{ env: { ...process.env, HOOK_KEY: 'X-API-Key: env-secret-91' } },
	);
	assert.equal(result.code, 0, result.stderr);
	assert.equal(server.seen.at(-1)?.key, 'env-secret-91');
	assert.doesNotMatch(result.stdout + result.stderr, /env-secret-91/);
	assert.match(result.json?.output.stdout.tail ?? '', /job sees HOOK_KEY=unset/, 'the variable is kept from the job');
	await server.close();
});

test('a hook command that leaves a process running in its group (sleep &) leaves nothing behind: the group is stopped', async () => {
	const marker = join(dir.path, `left-behind-${++n}`);
	const report = await runHook(
		{ kind: 'command', file: 'sh', args: ['-c', `sleep 100 & echo $! > ${marker}; exit 0`] },
		'after',
		{ databasePath: db(), timeoutMs: 10_000 },
	);
	assert.equal(report.ok, true, report.error);
	const left = Number(readFileSync(marker, 'utf8'));
	assert.ok(left > 0, 'the background process was started');
	for (let i = 0; i < 100 && readProcess(left) && readProcess(left)?.state !== 'Z'; i++) await sleep(20);
	const facts = readProcess(left);
	assert.ok(!facts || facts.state === 'Z', `sleep ${left} is still running`);
});
