/**
 * scripts/system-deps.mjs, the first step of npm test / test:e2e / demo: it must never leave a new user with a
 * cascade of stack traces. Run for real with a PATH that lacks the tools: it stops at once, one line per tool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers/paths';

const SCRIPT = join(REPO, 'scripts', 'system-deps.mjs');

interface Deps {
	TOOLS: Record<string, { debian: string }>;
	PROFILES: Record<string, string[]>;
	plan(
		missing: string[],
		machine: { root?: boolean; aptGet?: boolean },
	): { action: string; packages?: string[]; lines?: string[] };
}
// A real ES module import from this CommonJS test: TypeScript would turn a plain import() into require().
const load = new Function('url', 'return import(url)') as (url: string) => Promise<Deps>;

test('plan: nothing missing does nothing; root with apt-get installs each Debian package once', async () => {
	const { plan } = await load(pathToFileURL(SCRIPT).href);
	assert.deepEqual(plan([], { root: true, aptGet: true }), { action: 'none' });
	assert.deepEqual(plan(['redis-server', 'unshare'], { root: true, aptGet: true }), {
		action: 'install',
		packages: ['redis-server', 'util-linux'],
	});
	assert.deepEqual(plan(['python3', 'make', 'g++'], { root: true, aptGet: true }).packages, ['python3', 'make', 'g++']);
});

test('plan: without root or apt-get it stops with one line per missing tool naming its package', async () => {
	const { plan } = await load(pathToFileURL(SCRIPT).href);
	for (const machine of [
		{ root: false, aptGet: true },
		{ root: true, aptGet: false },
	]) {
		const decision = plan(['redis-server', 'busybox'], machine);
		assert.equal(decision.action, 'stop');
		assert.equal(decision.lines?.length, 2);
		assert.match(decision.lines![0], /^missing: redis-server .*apt-get install redis-server/);
		assert.match(decision.lines![1], /^missing: busybox .*apt-get install busybox/);
	}
});

test('every tool of every profile has a Debian package', async () => {
	const { TOOLS, PROFILES } = await load(pathToFileURL(SCRIPT).href);
	for (const [profile, tools] of Object.entries(PROFILES))
		for (const tool of tools) assert.ok(TOOLS[tool]?.debian, `${profile}: ${tool}`);
});

test('run on a machine without the tools and without apt-get: exit 1 within seconds, one line per tool, no trace', () => {
	const empty = mkdtempSync(join(tmpdir(), 'no-tools-'));
	const started = Date.now();
	const result = spawnSync(process.execPath, [SCRIPT, 'test'], { env: { PATH: empty }, encoding: 'utf8' });
	assert.ok(Date.now() - started < 10_000);
	assert.equal(result.status, 1, result.stderr);
	const lines = result.stderr.trim().split('\n');
	assert.deepEqual(
		lines.filter((line) => line.includes('missing:')).map((line) => line.split(' ')[2]),
		['redis-server', 'unshare', 'hostname', 'busybox'],
	);
	assert.match(result.stderr, /apt-get is not available here|not root/);
	assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('an unknown profile is a usage error (exit 2) that lists the profiles', () => {
	const result = spawnSync(process.execPath, [SCRIPT, 'tset'], { encoding: 'utf8' });
	assert.equal(result.status, 2);
	assert.match(result.stderr, /usage: .*test\|e2e\|demo\|bench.*unknown: tset/);
});
