// Shared helpers for `npm run demo` (scripts/demo.mjs) and `npm run test:e2e` (test-e2e/):
// drive a real n8n 2.x (prepared by scripts/prepare-n8n.sh) headless, with this package
// installed the way n8n's Community Nodes installer does it.
import { execFileSync, spawn } from 'node:child_process';
import {
	cpSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG = 'n8n-nodes-duckdb-safe-ingest';
export const OUTPUTS = { ingest: ['Success', 'Blocked', 'Timeout', 'Failed'], cleanup: ['Clean', 'Recovered', 'Held'] };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

export function log(msg) {
	process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs scripts/prepare-n8n.sh (instant when cached) and returns { NODE24, N8N_BIN }. */
export function prepareN8n() {
	const out = execFileSync('bash', [join(ROOT, 'scripts', 'prepare-n8n.sh')], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const vars = Object.fromEntries(
		out
			.trim()
			.split('\n')
			.map((l) => l.split(/=(.*)/s).slice(0, 2)),
	);
	if (!vars.NODE24 || !vars.N8N_BIN) throw new Error(`prepare-n8n.sh printed no NODE24/N8N_BIN:\n${out}`);
	return { NODE24: vars.NODE24, N8N_BIN: vars.N8N_BIN };
}

/**
 * The environment for an npm we call: without the npm_config_* settings `npm run` exported to us (this project's
 * ignore-scripts=true among them), except those that say how to reach the registry. Each call passes what it needs.
 */
export function npmEnv(extra = {}) {
	const keep =
		/^npm_config_(registry|.*_registry|cache|proxy|https?_proxy|no_?proxy|ca|cafile|strict_ssl|userconfig|globalconfig|fetch_.*)$/i;
	const env = {};
	for (const [name, value] of Object.entries(process.env)) {
		if (/^npm_(config|package|lifecycle)_/i.test(name) && !keep.test(name)) continue;
		env[name] = value;
	}
	return { ...env, ...extra };
}

/** npm run build + npm pack into outDir; returns the tarball path. */
export function buildAndPack(outDir, { build = true } = {}) {
	if (build)
		execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: npmEnv() });
	const json = execFileSync('npm', ['pack', '--json', '--ignore-scripts=true', '--pack-destination', outDir], {
		cwd: ROOT,
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
		env: npmEnv(),
	});
	const [info] = JSON.parse(json);
	return join(outDir, info.filename);
}

export function freePort() {
	return new Promise((resolve, reject) => {
		const srv = createNetServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

/** Environment for one n8n process. PATH starts with Node 24's bin dir so the demo job's `node` resolves. */
export function n8nEnv(n8n, userFolder, { brokerPort, restrictTo, extra = {} } = {}) {
	const env = { ...process.env };
	for (const k of Object.keys(env)) if (k.startsWith('N8N_') || k.startsWith('npm_')) delete env[k];
	delete env.NODE_OPTIONS;
	return {
		...env,
		PATH: `${dirname(n8n.NODE24)}:${process.env.PATH}`,
		N8N_USER_FOLDER: userFolder,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_RUNNERS_DISABLED_TASK_TYPES: 'python',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_SECURE_COOKIE: 'false',
		...(brokerPort ? { N8N_RUNNERS_BROKER_PORT: String(brokerPort) } : {}),
		...(restrictTo ? { N8N_RESTRICT_FILE_ACCESS_TO: restrictTo } : {}),
		...extra,
	};
}

/** Starts `n8n <args>`; resolves { code, signal, stdout, stderr, child } when it exits. `onSpawn(child)` runs at once. */
export function runN8n(n8n, args, env, { onSpawn, timeoutMs = 300_000 } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(n8n.NODE24, [n8n.N8N_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(
				new Error(
					`n8n ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
				),
			);
		}, timeoutMs);
		child.on('error', reject);
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code, signal, stdout, stderr, child });
		});
		if (onSpawn) onSpawn(child);
	});
}

/**
 * Starts a long-running `n8n <args>` (start, worker): { child, output(), exited, stop() }. stop() sends SIGTERM, then
 * SIGKILL after `graceMs`, and resolves when the process has exited. `prefix` runs n8n under another program (unshare).
 */
export function startN8n(n8n, args, env, { graceMs = 20_000, prefix = [] } = {}) {
	const argv = [...prefix, n8n.NODE24, n8n.N8N_BIN, ...args];
	const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout.on('data', (d) => (output += d));
	child.stderr.on('data', (d) => (output += d));
	const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
	return {
		child,
		output: () => output,
		exited,
		async stop() {
			if (child.exitCode !== null || child.signalCode !== null) return exited;
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
			const result = await exited;
			clearTimeout(timer);
			return result;
		},
	};
}

/**
 * JSON printed by `n8n execute --rawOutput`: from the first line that is `{` to the first line that is `}` (the
 * document is indented, so only its own braces sit in column 0). n8n may log other lines around it, such as
 * "Registered runner ..." from the task runner broker, which can come before or after the JSON.
 */
export function parseExecuteOutput(stdout) {
	const lines = stdout.split('\n');
	const start = lines.findIndex((l) => l === '{');
	if (start < 0) return undefined;
	const end = lines.indexOf('}', start + 1);
	if (end < 0) return undefined;
	try {
		return JSON.parse(lines.slice(start, end + 1).join('\n'));
	} catch {
		return undefined;
	}
}

/** [{ index, name, items }] for each non-empty output of `nodeName` in an execute result. */
export function firedOutputs(result, nodeName, names = OUTPUTS.ingest) {
	const run = result?.data?.resultData?.runData?.[nodeName]?.[0];
	const main = run?.data?.main ?? [];
	return main
		.map((items, index) => ({
			index,
			name: names[index] ?? `output ${index}`,
			items: (items ?? []).map((i) => i.json),
		}))
		.filter((o) => o.items.length > 0);
}

export function nodeError(result) {
	return result?.data?.resultData?.error;
}

/** The demo's Job Secrets credential: imported into n8n's encrypted store, used by the failing-job variant. */
export const DEMO_SECRET = {
	id: 'duckdbDemoSecrets',
	name: 'Demo job secrets',
	variable: 'BINANCE_API_KEY',
	value: 'demo-key-7f3a9c21e5',
};

/** The demo's Hook Auth credential: the API key the sharing scenarios' Before and After requests send. */
export const DEMO_HOOK_AUTH = {
	id: 'duckdbDemoHookAuth',
	name: 'Demo API key',
	header: 'X-Api-Key',
	secret: 'api-key-4b8e0d6f13',
};

/** Installs the packed package into `nodesDir` the way n8n's Community Nodes installer does (shallow, no scripts). */
export function installTarball(nodesDir, tarball) {
	mkdirSync(nodesDir, { recursive: true });
	writeFileSync(join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true }, null, 2));
	log(`installing ${tarball} into ${nodesDir}`);
	execFileSync(
		'npm',
		[
			'install',
			'--ignore-scripts=true',
			'--install-strategy=shallow',
			'--bin-links=false',
			'--no-audit',
			'--no-fund',
			tarball,
		],
		{ cwd: nodesDir, stdio: ['ignore', 'ignore', 'inherit'], env: npmEnv({ npm_config_loglevel: 'error' }) },
	);
}

/** The settings of an `n8n start` serving its editor and webhooks on 127.0.0.1:`port`. */
export function serverSettings(port) {
	return {
		N8N_HOST: '127.0.0.1',
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_EDITOR_BASE_URL: `http://127.0.0.1:${port}/`,
		WEBHOOK_URL: `http://127.0.0.1:${port}/`,
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
	};
}

/**
 * Template user folder: this package installed like n8n's GUI installer does, a Discord webhook credential
 * pointing at `sinkUrl`, the demo's Job Secrets and Hook Auth credentials, and `workflows` imported. Per-run folders are cheap
 * copies (see cloneUserFolder).
 */
export async function makeTemplate(n8n, { dir, tarball, sinkUrl, workflows, restrictTo }) {
	installTarball(join(dir, '.n8n', 'nodes'), tarball);
	const port = await freePort();
	const env = n8nEnv(n8n, dir, { brokerPort: port, restrictTo });
	const creds = join(dir, 'creds.json');
	writeFileSync(
		creds,
		JSON.stringify([
			{
				id: 'duckdbDemoDiscord',
				name: 'Discord webhook (alerts)',
				type: 'discordWebhookApi',
				data: { webhookUri: sinkUrl },
			},
			{
				id: DEMO_SECRET.id,
				name: DEMO_SECRET.name,
				type: 'duckDbJobSecretsApi',
				data: { name1: DEMO_SECRET.variable, value1: DEMO_SECRET.value },
			},
			{
				id: DEMO_HOOK_AUTH.id,
				name: DEMO_HOOK_AUTH.name,
				type: 'duckDbHookAuthApi',
				data: {
					allowedHosts: '127.0.0.1',
					type: 'header',
					name: DEMO_HOOK_AUTH.header,
					secret: DEMO_HOOK_AUTH.secret,
				},
			},
		]),
	);
	log('migrating n8n database + importing credentials (first run: ~300 migrations)');
	let r = await runN8n(n8n, ['import:credentials', `--input=${creds}`], env);
	if (r.code !== 0) throw new Error(`import:credentials failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
	const wfDir = join(dir, 'workflows');
	mkdirSync(wfDir, { recursive: true });
	for (const wf of workflows) writeFileSync(join(wfDir, `${wf.id}.json`), JSON.stringify(wf, null, 2));
	r = await runN8n(n8n, ['import:workflow', '--separate', `--input=${wfDir}`], env);
	if (r.code !== 0) throw new Error(`import:workflow failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
	return dir;
}

/** Copy of the template's n8n state (database, config), sharing the installed nodes folder via a symlink. */
export function cloneUserFolder(template, dest) {
	mkdirSync(join(dest, '.n8n'), { recursive: true });
	for (const name of readdirSync(join(template, '.n8n'))) {
		if (name === 'nodes') continue;
		cpSync(join(template, '.n8n', name), join(dest, '.n8n', name), { recursive: true });
	}
	symlinkSync(join(template, '.n8n', 'nodes'), join(dest, '.n8n', 'nodes'), 'dir');
	return dest;
}

/** Local stand-in for Discord: records every webhook POST. */
export function startSink() {
	const messages = [];
	const waiters = [];
	const server = createServer((req, res) => {
		let body = '';
		req.on('data', (d) => (body += d));
		req.on('end', () => {
			let json;
			try {
				json = JSON.parse(body);
			} catch {
				json = undefined;
			}
			messages.push({ path: req.url, body, json, content: json?.content });
			for (const w of waiters.splice(0)) w();
			res.writeHead(204);
			res.end();
		});
	});
	return new Promise((resolve) => {
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			resolve({
				url: `http://127.0.0.1:${port}/api/webhooks/demo/token`,
				messages,
				/** Messages whose content includes `marker`. */
				find: (marker) => messages.filter((m) => String(m.content ?? m.body).includes(marker)),
				close: () => new Promise((r) => server.close(() => r())),
			});
		});
	});
}

export function readJson(path) {
	return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * A copy of an example workflow with a new id/name, the "Scenario" Set node's values replaced by `values`
 * and optional workflow settings overrides.
 */
export function variant(template, { id, name, values = {}, settings = {} }) {
	const wf = structuredClone(template);
	wf.id = id;
	wf.name = name;
	wf.settings = { ...wf.settings, ...settings };
	const set = wf.nodes.find((n) => n.name === 'Scenario');
	for (const a of set.parameters.assignments.assignments) {
		if (a.name in values) a.value = values[a.name];
	}
	for (const key of Object.keys(values)) {
		if (!set.parameters.assignments.assignments.some((a) => a.name === key))
			throw new Error(`Scenario has no field ${key}`);
	}
	return wf;
}

/** PIDs whose process group (field 5 of /proc/<pid>/stat) is `pgid`. */
export function processGroupMembers(pgid) {
	const pids = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			// fields[0] is field 3 (state); field 5 (pgrp) is fields[2]
			if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
		} catch {
			/* process went away */
		}
	}
	return pids;
}

export function pidAlive(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
	} catch {
		return false;
	}
}

export async function waitFor(predicate, { timeoutMs = 60_000, intervalMs = 100, what = 'condition' } = {}) {
	const end = Date.now() + timeoutMs;
	while (Date.now() < end) {
		if (await predicate()) return true;
		await sleep(intervalMs);
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Removes a temp dir unless it holds DuckDB *.wal files (never delete a WAL); returns the kept WAL paths. */
export function removeUnlessWal(dir) {
	const wals = [];
	const walk = (d) => {
		for (const e of readdirSync(d, { withFileTypes: true })) {
			const p = join(d, e.name);
			if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
			else if (e.name.endsWith('.wal')) wals.push(p);
		}
	};
	if (!existsSync(dir)) return wals;
	walk(dir);
	if (wals.length === 0) rmSync(dir, { recursive: true, force: true });
	return wals;
}

export function makeTempDir(prefix) {
	return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Opens each DuckDB file that has a leftover `<db>.wal` read-write and closes it: DuckDB replays the WAL into
 * the database and checkpoints (its normal crash recovery). Nothing is deleted by hand.
 */
export async function replayLeftoverWals(installedPkgDir, dir) {
	const { createRequire } = await import('node:module');
	const { DuckDBInstance } = createRequire(join(installedPkgDir, 'package.json'))('@duckdb/node-api');
	const replayed = [];
	for (const name of existsSync(dir) ? readdirSync(dir) : []) {
		if (!name.endsWith('.duckdb.wal')) continue;
		const db = join(dir, name.slice(0, -'.wal'.length));
		if (existsSync(`${db}.pid`)) continue; // someone may still hold it: leave it alone
		try {
			const instance = await DuckDBInstance.create(db);
			const conn = await instance.connect();
			await conn.run('CHECKPOINT');
			conn.closeSync();
			instance.closeSync();
			replayed.push(db);
		} catch (err) {
			log(`could not replay ${db}.wal: ${err.message}`);
		}
	}
	return replayed;
}

/** Reads agg_trades' row count with @duckdb/node-api from the installed package's dependencies. */
export async function countRows(installedPkgDir, dbPath) {
	const { createRequire } = await import('node:module');
	const req = createRequire(join(installedPkgDir, 'package.json'));
	const { DuckDBInstance } = req('@duckdb/node-api');
	const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
	const conn = await instance.connect();
	const reader = await conn.runAndReadAll(
		'SELECT count(*)::INTEGER AS n, count(DISTINCT trade_date)::INTEGER AS d FROM agg_trades',
	);
	const [n, d] = reader.getRows()[0];
	conn.closeSync();
	instance.closeSync();
	return { rows: n, days: d };
}

/** count(*) of a table, read with @duckdb/node-api from the installed package's dependencies. */
export async function tableCount(installedPkgDir, dbPath, table) {
	const { createRequire } = await import('node:module');
	const { DuckDBInstance } = createRequire(join(installedPkgDir, 'package.json'))('@duckdb/node-api');
	const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
	const conn = await instance.connect();
	const reader = await conn.runAndReadAll(`SELECT count(*)::INTEGER FROM ${table}`);
	conn.closeSync();
	instance.closeSync();
	return reader.getRows()[0][0];
}
