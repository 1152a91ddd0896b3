/**
 * The lock of one database, whichever backend decides: the PID file next to it (default), or a Redis key (workers
 * on several machines). With Redis, the PID file is still written for people and scripts, but only after the Redis
 * key was won, and a PID file left by a Redis holder whose key is gone counts as stale. Both backends keep a lease
 * that the supervisor renews (`renew()` every heartbeat).
 */
import { acquireLock, type AcquireOptions } from './pid-file-lock';
import { LEASE_DEFAULTS } from './liveness';
import { FileLock, type TakeResult } from './database-lock';
import type { RedisBackendOptions } from './redis-inspect';

export interface LockBackendOptions {
	redis?: RedisBackendOptions;
}

/** Takes the database lock with the chosen backend. */
export async function takeDatabaseLock(
	databasePath: string,
	options: AcquireOptions & LockBackendOptions = {},
): Promise<TakeResult> {
	if (options.redis) {
		// Loaded only for Redis: a run without it never pays for the Redis modules (require: import() would start
		// the ESM loader).
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { takeRedisLock } = require('./redis-backend') as typeof import('./redis-backend');
		return takeRedisLock(databasePath, { ...options, redis: options.redis });
	}
	const result = await acquireLock(databasePath, options);
	if (!result.acquired) return result;
	return {
		...result,
		lock: new FileLock(
			result.lock,
			options.heartbeatMs ?? LEASE_DEFAULTS.heartbeatMs,
			options.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs,
		),
	};
}
