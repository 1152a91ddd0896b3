// The services the queue-mode e2e suite runs n8n on, each started here in a temporary folder on a random loopback port
// and stopped by the PID started: PostgreSQL (Debian's package; n8n's database) and redis-server (n8n's queue, and
// the Redis lock backend). scripts/system-deps.mjs e2e installs both.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool } from '../system-deps.mjs';
import { freePort, log, sleep, waitFor } from './harness.mjs';

/** Resolves once something accepts TCP connections on 127.0.0.1:port (or throws after timeoutMs). */
async function listening(port, child, what, timeoutMs = 60_000) {
	const end = Date.now() + timeoutMs;
	while (Date.now() < end) {
		if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode}) before it listened`);
		const ok = await new Promise((resolve) => {
			const socket = connect(port, '127.0.0.1', () => {
				socket.end();
				resolve(true);
			});
			socket.on('error', () => resolve(false));
		});
		if (ok) return;
		await sleep(100);
	}
	throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Stops what we started: `signal` (SIGTERM; PostgreSQL's fast shutdown is SIGINT), SIGKILL after 15 s. */
function stopper(child, exited, signal = 'SIGTERM') {
	return async () => {
		if (child.exitCode === null && child.signalCode === null) child.kill(signal);
		const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
		await exited;
		clearTimeout(timer);
	};
}

/** Waits until `ready()`; on failure stops the child and throws with its output. */
async function readyOrStop(child, stop, output, ready) {
	try {
		await ready();
	} catch (error) {
		await stop();
		throw new Error(`${error.message}\n${output()}`);
	}
}

function collect(child) {
	let output = '';
	child.stdout?.on('data', (d) => (output += d));
	child.stderr?.on('data', (d) => (output += d));
	return () => output;
}

/** PostgreSQL refuses to run as root: as root its programs run as `nobody`, which then owns the data folder. */
function asPostgresUser(dir) {
	if (process.getuid?.() !== 0) return [];
	const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
	const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
	chownSync(dir, uid, gid);
	return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
}

/**
 * A throwaway PostgreSQL cluster in a temporary folder of its own (initdb, trust on loopback, no Unix socket), removed
 * when it is stopped: { port, user, database, stop }.
 */
export async function startPostgres() {
	const initdb = findTool('initdb');
	const postgres = findTool('postgres');
	if (!initdb || !postgres)
		throw new Error('PostgreSQL is not installed: npm run test:e2e installs it (node scripts/system-deps.mjs e2e)');
	const dir = mkdtempSync(join(tmpdir(), 'duckdb-safe-ingest-postgres-'));
	const removeDir = () => rmSync(dir, { recursive: true, force: true });
	chmodSync(dir, 0o755); // the server's user (nobody, under root) must reach its data folder
	const data = join(dir, 'pgdata');
	mkdirSync(data);
	const prefix = asPostgresUser(data);
	const run = (argv) => (prefix.length ? [prefix[0], [...prefix.slice(1), ...argv]] : [argv[0], argv.slice(1)]);
	const [initCmd, initArgs] = run([initdb, '-D', data, '-U', 'n8n', '--auth=trust', '-E', 'UTF8', '--no-sync']);
	try {
		execFileSync(initCmd, initArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
	} catch (error) {
		removeDir();
		throw new Error(`initdb failed: ${error.stderr ?? error.message}`);
	}
	writeFileSync(join(data, 'postgresql.auto.conf'), "unix_socket_directories = ''\nfsync = off\n");
	const port = await freePort();
	const [cmd, args] = run([postgres, '-D', data, '-p', String(port), '-h', '127.0.0.1']);
	const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	const output = collect(child);
	const exited = new Promise((resolve) => child.once('exit', resolve));
	const shutdown = stopper(child, exited, 'SIGINT');
	const stop = async () => {
		await shutdown();
		removeDir();
	};
	// A port that accepts connections is not enough: PostgreSQL answers "starting up" until it says it is ready.
	await readyOrStop(child, stop, output, async () => {
		await listening(port, child, 'postgres');
		await waitFor(() => output().includes('ready to accept connections'), {
			timeoutMs: 60_000,
			what: 'PostgreSQL to accept connections',
		});
	});
	log(`PostgreSQL ready on 127.0.0.1:${port} (PID ${child.pid})`);
	return { port, user: 'n8n', database: 'postgres', child, output, stop };
}

/** A redis-server on a random loopback port, without persistence: { port, url, stop }. */
export async function startRedisServer() {
	const binary = findTool('redis-server');
	if (!binary)
		throw new Error('redis-server is not installed: npm run test:e2e installs it (node scripts/system-deps.mjs e2e)');
	const port = await freePort();
	const child = spawn(
		binary,
		['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
		{ stdio: ['ignore', 'pipe', 'pipe'] },
	);
	const output = collect(child);
	const exited = new Promise((resolve) => child.once('exit', resolve));
	const stop = stopper(child, exited);
	await readyOrStop(child, stop, output, () => listening(port, child, 'redis-server'));
	log(`redis-server listening on 127.0.0.1:${port} (PID ${child.pid})`);
	return { port, url: `redis://127.0.0.1:${port}`, child, output, stop };
}
