/**
 * A real redis-server (Debian's package) for tests: started on 127.0.0.1 with a random free port and no
 * persistence, stopped (by the PID we started) when the test is done. `.ci/run` installs redis-server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { RedisLockClient } from '../../lib/lock/redis-client';
import { sleep, track } from './processes';

export interface RedisServer {
	url: string;
	port: number;
	child: ChildProcess;
	stop(): Promise<void>;
}

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

/**
 * `untracked`: for a server shared by a whole file (started in before(), stopped in after()), which the per-test
 * stopAll() must leave alone.
 */
export async function startRedis(
	options: { port?: number; untracked?: boolean; password?: string } = {},
): Promise<RedisServer> {
	if (spawnSync('redis-server', ['--version']).error) {
		throw new Error(
			'redis-server is not installed: npm test installs it (node scripts/system-deps.mjs test), or apt-get install redis-server',
		);
	}
	const chosen = options.port ?? (await freePort());
	const auth = options.password ? ['--requirepass', options.password] : [];
	const spawned = spawn(
		'redis-server',
		[
			'--port',
			String(chosen),
			'--bind',
			'127.0.0.1',
			'--save',
			'',
			'--appendonly',
			'no',
			'--protected-mode',
			'yes',
			...auth,
		],
		{ stdio: ['ignore', 'pipe', 'pipe'] },
	);
	const child = options.untracked ? spawned : track(spawned);
	let log = '';
	child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const url = `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${chosen}`;
	for (let i = 0; i < 200; i++) {
		try {
			(await RedisLockClient.connect(url, { connectTimeoutMs: 500 })).close();
			return {
				url,
				port: chosen,
				child,
				async stop() {
					if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
					await exited;
				},
			};
		} catch {
			// Not listening yet.
			if (child.exitCode !== null) break;
			await sleep(25);
		}
	}
	child.kill('SIGKILL');
	throw new Error(`redis-server did not start on port ${chosen}: ${log.slice(-500)}`);
}

/**
 * A TCP relay to Redis that the test can cut: the process behind it loses Redis while Redis itself (and everyone
 * connected directly) carries on, as when one worker's network fails.
 */
export async function startRelay(targetPort: number): Promise<{ url: string; cut(): Promise<void> }> {
	const sockets = new Set<import('node:net').Socket>();
	const server = createServer((inbound) => {
		const outbound = connect(targetPort, '127.0.0.1');
		for (const socket of [inbound, outbound]) {
			sockets.add(socket);
			socket.on('error', () => undefined);
			socket.on('close', () => sockets.delete(socket));
		}
		inbound.pipe(outbound);
		outbound.pipe(inbound);
	});
	const port = await new Promise<number>((resolve) =>
		server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
	);
	return {
		url: `redis://127.0.0.1:${port}`,
		async cut() {
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				for (const socket of sockets) socket.destroy();
			});
		},
	};
}
