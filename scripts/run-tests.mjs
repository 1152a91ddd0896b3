#!/usr/bin/env node
// Runs the compiled test files with Node's built-in runner. Usage: node scripts/run-tests.mjs [dir] [extra node args]
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
// --test-force-exit: n8n-core 1.x leaves a handle open after its workflows finish; every test has ended by then.
const result = spawnSync(process.execPath, ['--test', '--test-force-exit', ...process.argv.slice(3), ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
