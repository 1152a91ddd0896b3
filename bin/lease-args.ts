/** The lease and lock-backend options both command-line tools share: --heartbeat, --stale-after, --redis, --redis-key. */
import { parseDuration } from '../lib/base/duration';
import { UsageError } from '../lib/base/errors';

import { isRedisUrl, REDIS_URL_ENV } from '../lib/run/options';
import { type RedisBackendOptions } from '../lib/lock/redis-inspect';

export const LEASE_OPTIONS = {
	heartbeat: { type: 'string' },
	'stale-after': { type: 'string' },
	redis: { type: 'string' },
	'redis-key': { type: 'string' },
} as const;

export interface LeaseArgs {
	heartbeatMs?: number;
	staleAfterMs?: number;
	redis?: RedisBackendOptions;
}

export function leaseFrom(values: {
	heartbeat?: string;
	'stale-after'?: string;
	redis?: string;
	'redis-key'?: string;
}): LeaseArgs {
	if (values['redis-key'] !== undefined && values.redis === undefined)
		throw new UsageError('--redis-key needs --redis URL.');
	// The URL may carry a password: accept it from the environment too, so it stays out of `ps` and shell history.
	const url = values.redis === 'env' ? process.env[REDIS_URL_ENV] : values.redis;
	if (values.redis !== undefined && !url)
		throw new UsageError(`--redis env: the variable ${REDIS_URL_ENV} is not set.`);
	if (url !== undefined && !isRedisUrl(url))
		throw new UsageError('--redis: give a URL like redis://redis:6379/0 (or rediss:// for TLS).');
	return {
		heartbeatMs: values.heartbeat === undefined ? undefined : parseDuration(values.heartbeat, '--heartbeat', 's'),
		staleAfterMs:
			values['stale-after'] === undefined ? undefined : parseDuration(values['stale-after'], '--stale-after', 's'),
		redis: url ? { url, key: values['redis-key'] } : undefined,
	};
}
