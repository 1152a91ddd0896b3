// A long-running n8n for the server and queue-mode e2e suites: `n8n start` (and `n8n worker`s) on free loopback
// ports, this package installed the way n8n's GUI installer does it, and a client for n8n's REST API (the editor's):
// owner setup and login, workflows created and published, webhooks called, executions read and stopped.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
	buildAndPack,
	freePort,
	installTarball,
	makeTempDir,
	n8nEnv,
	PKG,
	prepareN8n,
	serverSettings,
	startN8n,
	waitFor,
} from './harness.mjs';

export const OWNER = { email: 'e2e@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2ePassw0rd!' };

/** Builds and packs this package and installs it the GUI installer's way into `<dir>/nodes`: returns its paths. */
export function installPackage({ build = true } = {}) {
	const n8n = prepareN8n();
	const work = makeTempDir('duckdb-safe-ingest-server-e2e-');
	const tarball = buildAndPack(work, { build });
	const nodesDir = join(work, 'nodes');
	installTarball(nodesDir, tarball);
	return { n8n, work, nodesDir, pkgDir: join(nodesDir, 'node_modules', PKG) };
}

/** A fresh n8n user folder whose .n8n/nodes is the installed package folder. */
export function userFolder(install, name) {
	const dir = join(install.work, name);
	mkdirSync(join(dir, '.n8n'), { recursive: true });
	symlinkSync(install.nodesDir, join(dir, '.n8n', 'nodes'), 'dir');
	return dir;
}

/** The flatted parser n8n stores execution data with (from n8n's own dependencies). */
function flattedParse(n8n) {
	return createRequire(n8n.N8N_BIN)('flatted').parse;
}

/**
 * The n8n inside a container we started (`unshare --fork` runs it as its child, and blocks SIGTERM itself): its PID,
 * checked to be n8n, or undefined.
 */
function containedN8n(unsharePid) {
	try {
		const [pid] = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
		return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('/n8n/bin/n8n') ? Number(pid) : undefined;
	} catch {
		return undefined;
	}
}

/** stop() for n8n in a container: SIGTERM to the n8n inside, SIGKILL to the container after `graceMs`. */
function containedStop(instance, graceMs = 20_000) {
	return async () => {
		const { child, exited } = instance;
		if (child.exitCode !== null || child.signalCode !== null) return exited;
		const inner = containedN8n(child.pid);
		if (inner) process.kill(inner, 'SIGTERM');
		else child.kill('SIGKILL');
		const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
		const result = await exited;
		clearTimeout(timer);
		return result;
	};
}

/** Waits for `url` to answer 200; if it never does, stops the instance and throws with its output of that moment. */
export async function readyOrStop(instance, url, what) {
	try {
		await waitFor(async () => (await fetch(url).catch(() => undefined))?.ok, {
			timeoutMs: 180_000,
			intervalMs: 250,
			what,
		});
	} catch (error) {
		await instance.stop();
		throw new Error(`${error.message}\n${instance.output().slice(-3000)}`);
	}
}

/**
 * Starts `n8n <command>` (start or worker) with `env` extras; for `start`, waits for the REST API and returns a logged-in
 * client too. `prefix` runs n8n inside another program (e.g. unshare for a worker in its own namespaces).
 */
export async function startInstance(install, { command = 'start', folder, dataDir, extra = {}, prefix = [] }) {
	const port = await freePort();
	const env = n8nEnv(install.n8n, folder, {
		brokerPort: await freePort(),
		restrictTo: dataDir,
		extra: {
			...serverSettings(port),
			QUEUE_HEALTH_CHECK_PORT: String(await freePort()),
			...extra,
		},
	});
	const instance = startN8n(install.n8n, [command], env, { prefix });
	if (prefix.length) instance.stop = containedStop(instance);
	const base = `http://127.0.0.1:${port}`;
	const result = { ...instance, base, port, env };
	if (command !== 'start') return result;
	await readyOrStop(instance, `${base}/healthz/readiness`, `n8n start to be ready on ${base}`);
	return { ...result, rest: new Rest(base, flattedParse(install.n8n)) };
}

/** n8n's REST API as the editor uses it: the session cookie (n8n-auth) the owner setup or the login sets. */
export class Rest {
	constructor(base, parse) {
		this.base = base;
		this.parse = parse;
		this.cookie = '';
	}

	async request(method, path, body) {
		const response = await fetch(`${this.base}${path}`, {
			method,
			headers: {
				'content-type': 'application/json',
				...(this.cookie ? { cookie: this.cookie } : {}),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const setCookie = response.headers.getSetCookie?.() ?? [];
		const auth = setCookie.find((c) => c.startsWith('n8n-auth='));
		if (auth) this.cookie = auth.split(';')[0];
		const text = await response.text();
		let json;
		try {
			json = JSON.parse(text);
		} catch {
			json = undefined;
		}
		if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 500)}`);
		return json?.data ?? json;
	}

	/** Sets up the owner on a new instance (or logs in on one that has it) and keeps the session. */
	async signIn() {
		try {
			await this.request('POST', '/rest/owner/setup', OWNER);
		} catch {
			await this.request('POST', '/rest/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
		}
	}

	async createCredential(credential) {
		return this.request('POST', '/rest/credentials', credential);
	}

	/**
	 * Creates the workflow and publishes it: returns its id once n8n says it is published (its triggers are registered
	 * a moment after the activate call answers).
	 */
	async publish(workflow) {
		const created = await this.request('POST', '/rest/workflows', workflow);
		await this.request('POST', `/rest/workflows/${created.id}/activate`, { versionId: created.versionId });
		let status;
		await waitFor(
			async () => {
				status = await this.request('GET', `/rest/workflows/${created.id}/publication-status`);
				if (['failed', 'partial'].includes(status.status))
					throw new Error(`publishing ${workflow.name} failed: ${JSON.stringify(status)}`);
				return status.status === 'published';
			},
			{ timeoutMs: 60_000, intervalMs: 100, what: `${workflow.name} to be published` },
		);
		return created.id;
	}

	async unpublish(id) {
		await this.request('POST', `/rest/workflows/${id}/deactivate`, {});
	}

	async executions(workflowId) {
		const filter = encodeURIComponent(JSON.stringify({ workflowId }));
		const page = await this.request('GET', `/rest/executions?filter=${filter}&limit=100`);
		return page.results ?? page;
	}

	/** One execution with its run data parsed. */
	async execution(id) {
		const execution = await this.request('GET', `/rest/executions/${id}`);
		return { ...execution, data: typeof execution.data === 'string' ? this.parse(execution.data) : execution.data };
	}

	async stop(id) {
		return this.request('POST', `/rest/executions/${id}/stop`, {});
	}
}

/**
 * POSTs `body` to a production webhook of the instance. A published workflow's webhooks are registered a moment after
 * the publish call answers, so a 404 (which starts nothing) is retried for a while. Returns the HTTP status.
 */
export async function callWebhook(base, path, body = {}, { registeredWithinMs = 30_000 } = {}) {
	const end = Date.now() + registeredWithinMs;
	for (;;) {
		const response = await fetch(`${base}/webhook/${path}`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(body),
		});
		await response.text();
		if (response.status !== 404 || Date.now() > end) return response.status;
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}
