#!/usr/bin/env node
// CI's proof of the fresh path: scripts/prepare-n8n.sh, run the way `npm run` runs it (the project's
// ignore-scripts=true exported as npm_config_ignore_scripts, plus other settings that would build nothing), into an
// EMPTY cache folder, must give an n8n that starts and answers /healthz. It fails when the preparation would skip
// the sqlite3 build again, or when anything else a new machine lacks is missing.
//
// Usage: DUCKDB_SAFE_INGEST_CACHE=<empty folder> node scripts/e2e/check-fresh-n8n.mjs
// (without the variable, a new temporary folder is used and removed afterwards).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as h from './harness.mjs';

const given = process.env.DUCKDB_SAFE_INGEST_CACHE;
if (given && existsSync(given) && readdirSync(given).length) {
	console.error(
		`check-fresh-n8n: ${given} is not empty; give an empty cache folder (the point is a machine that never ran this)`,
	);
	process.exit(2);
}
const cache = given ?? mkdtempSync(join(tmpdir(), 'n8n-fresh-cache-'));
const started = Date.now();
// What `npm run` exports from this project's .npmrc, and settings a user's npmrc may carry that build nothing.
const hostile = {
	npm_config_ignore_scripts: 'true',
	npm_config_build_from_source: 'false',
	npm_config_nodedir: '/usr',
	npm_config_dry_run: 'false',
};
let out;
try {
	out = execFileSync('bash', [join(h.ROOT, 'scripts', 'prepare-n8n.sh')], {
		env: { ...process.env, ...hostile, DUCKDB_SAFE_INGEST_CACHE: cache },
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
	});
} catch (error) {
	console.error(`check-fresh-n8n: FAILED: prepare-n8n.sh exited ${error.status} under ${JSON.stringify(hostile)}`);
	process.exit(1);
}
const vars = Object.fromEntries(
	out
		.trim()
		.split('\n')
		.map((line) => line.split(/=(.*)/s).slice(0, 2)),
);
const n8n = { NODE24: vars.NODE24, N8N_BIN: vars.N8N_BIN };
const prepared = Date.now();

const user = h.makeTempDir('n8n-fresh-user-');
const port = await h.freePort();
const env = h.n8nEnv(n8n, user, {
	brokerPort: await h.freePort(),
	extra: { N8N_PORT: String(port), N8N_LISTEN_ADDRESS: '127.0.0.1' },
});
const running = h.startN8n(n8n, ['start'], env);
let ok = false;
try {
	await h.waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok, {
		timeoutMs: 180_000,
		intervalMs: 500,
		what: 'n8n to answer /healthz',
	});
	ok = true;
} catch (error) {
	console.error(`check-fresh-n8n: FAILED: ${error.message}\n${running.output().slice(-3000)}`);
} finally {
	await running.stop();
	rmSync(user, { recursive: true, force: true });
	if (!given) rmSync(cache, { recursive: true, force: true });
}
if (!ok) process.exit(1);
console.error(
	`check-fresh-n8n: ok: prepared n8n into an empty cache in ${Math.round((prepared - started) / 1000)}s under ${Object.keys(hostile).join(', ')}; n8n started and answered /healthz in ${Math.round((Date.now() - prepared) / 1000)}s`,
);
