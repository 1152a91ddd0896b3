// n8n's queue mode for the e2e suite: PostgreSQL and Redis of its own, one `n8n start` main (webhooks, the editor's
// REST API) and `n8n worker`s, each worker in its own PID and UTS namespace (`unshare`, its own host name, as a
// container has) sharing the database folder. Every process has its own user folder and the same encryption key.
import { randomBytes } from 'node:crypto';
import { freePort } from './harness.mjs';
import { readyOrStop, startInstance, userFolder } from './server.mjs';
import { startPostgres, startRedisServer } from './services.mjs';

/** A container of its own for a worker: PID + UTS (+ mount, for its /proc) namespaces; it dies with the unshare. */
const containerFor = (host) => [
	'unshare',
	'--pid',
	'--uts',
	'--fork',
	'--mount-proc',
	'--kill-child',
	'sh',
	'-c',
	'hostname "$0" && exec "$@"',
	host,
];

export async function startQueue(install, { dataDir, workers = ['worker-a', 'worker-b'] }) {
	const cluster = { workers: {} };
	try {
		cluster.postgres = await startPostgres();
		cluster.redis = await startRedisServer();
		cluster.shared = {
			EXECUTIONS_MODE: 'queue',
			QUEUE_BULL_REDIS_HOST: '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: String(cluster.redis.port),
			QUEUE_BULL_PREFIX: `e2e-${randomBytes(4).toString('hex')}`,
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: '127.0.0.1',
			DB_POSTGRESDB_PORT: String(cluster.postgres.port),
			DB_POSTGRESDB_DATABASE: cluster.postgres.database,
			DB_POSTGRESDB_USER: cluster.postgres.user,
			DB_POSTGRESDB_POOL_SIZE: '5',
			N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
		};
		cluster.main = await startInstance(install, {
			folder: userFolder(install, 'main'),
			dataDir,
			extra: cluster.shared,
		});
		await cluster.main.rest.signIn();
		for (const host of workers) cluster.workers[host] = await startWorker(install, cluster, host, dataDir);
		return cluster;
	} catch (error) {
		await stopQueue(cluster);
		throw error;
	}
}

/** Starts (or restarts) the worker `host` in its container and waits until it is ready. */
export async function startWorker(install, cluster, host, dataDir) {
	const healthPort = await freePort();
	const worker = await startInstance(install, {
		command: 'worker',
		folder: cluster.workers[host]?.folder ?? userFolder(install, host),
		dataDir,
		prefix: containerFor(host),
		extra: { ...cluster.shared, QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort) },
	});
	await readyOrStop(worker, `http://127.0.0.1:${healthPort}/healthz/readiness`, `${host} to be ready`);
	return { ...worker, host, folder: worker.env.N8N_USER_FOLDER };
}

/** Stops whatever of the cluster was started: workers (SIGTERM inside their containers), main, Redis, PostgreSQL. */
export async function stopQueue(cluster) {
	if (!cluster) return;
	await Promise.all(Object.values(cluster.workers).map((worker) => worker.stop()));
	await cluster.main?.stop();
	await cluster.redis?.stop();
	await cluster.postgres?.stop();
}
