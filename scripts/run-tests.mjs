#!/usr/bin/env node
// Runs the compiled tests with Node's built-in runner: every test file once, then the engine test files
// (*.engine.test.js: our nodes inside n8n's real execution engine) a second time against n8n 1.x's engine
// (ENGINE_LINE=v1; the first pass is 2.x). Usage: node scripts/run-tests.mjs [dir] [extra node args]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = process.argv[2] ?? 'dist/test';
const files = [];
(function walk(dir) {
	for (const name of readdirSync(dir).sort()) {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) walk(path);
		else if (name.endsWith('.test.js')) files.push(path);
	}
})(root);
const engineFiles = files.filter((file) => file.endsWith('.engine.test.js'));
// --test-force-exit: n8n-core 1.x leaves a handle open after its workflows finish; every test has ended by then.
const run = (list, line) => {
	console.log(`\n# node --test: ${list.length} files, engine line ${line}`);
	return (
		spawnSync(process.execPath, ['--test', '--test-force-exit', ...process.argv.slice(3), ...list], {
			stdio: 'inherit',
			env: { ...process.env, ENGINE_LINE: line },
		}).status ?? 1
	);
};
const first = run(files, 'v2');
const second = run(engineFiles, 'v1');
process.exit(first || second);
