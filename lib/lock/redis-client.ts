/**
 * The Redis side of the Redis lock backend, for n8n workers on different machines: the same Redis that n8n's queue
 * mode runs. The lock is `SET <key> <token> NX PX <lease>`; the holder's details live beside it in `<key>:holder`
 * with the same expiry. Renewal and release are Lua scripts, so "is it still my token?" and the change happen in
 * one atomic step on the server: only the owner can extend or delete its lock. The key expiring is the lease
 * running out; Redis's own clock decides, so the machines' clocks do not matter.
 *
 * Client: ioredis, the one n8n itself uses for queue mode. It is loaded on the first connect (about 30 ms; require,
 * as import() would start the ESM loader), so a run without Redis never pays for it.
 */
import type Redis from 'ioredis';
import { messageOf } from '../base/errors';

export const REDIS_DEFAULTS = { connectTimeoutMs: 3000, commandTimeoutMs: 3000, keyPrefix: 'duckdb-safe-ingest:lock:' };

/** Who holds a Redis lock, as stored in `<key>:holder` (JSON). */
export interface RedisHolder {
	token: string;
	database: string;
	host: string;
	bootId: string;
	pidNamespace: string;
	pid: number;
	role: 'supervisor' | 'job';
	pidStart?: number;
	/** The job's process group: its children may outlive the leader. */
	pgid?: number;
	supervisorPid: number;
	supervisorStart?: number;
	command: string;
	owner: string;
	lockedAt: string;
	heartbeatMs: number;
	leaseMs: number;
}

export interface RedisLockState {
	token: string;
	holder?: RedisHolder;
	/** Milliseconds until the lease runs out (Redis PTTL). */
	ttlMs: number;
}

export class RedisUnavailable extends Error {}

const ACQUIRE = `if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[3]) then
	redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
	return 1
end
return 0`;

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
	redis.call('pexpire', KEYS[1], ARGV[3])
	if ARGV[2] ~= '' then redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3]) else redis.call('pexpire', KEYS[2], ARGV[3]) end
	return 1
end
return 0`;

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
	redis.call('del', KEYS[1], KEYS[2])
	return 1
end
return 0`;

/** The password is never printed: redis://user:***@host:port/db. */
export function describeRedisUrl(url: string): string {
	try {
		const parsed = new URL(url);
		if (parsed.password) parsed.password = '***';
		return parsed.toString();
	} catch {
		// Not a URL at all: say so without echoing it (it may hold a password).
		return 'an invalid Redis URL';
	}
}

export class RedisLockClient {
	private constructor(
		private readonly redis: Redis,
		readonly where: string,
	) {}

	/** Connects, or throws RedisUnavailable with a message naming the server (never its password). */
	static async connect(
		url: string,
		options: { connectTimeoutMs?: number; commandTimeoutMs?: number; insecureTls?: boolean } = {},
	): Promise<RedisLockClient> {
		const where = describeRedisUrl(url);
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis');
		let redis: Redis;
		try {
			redis = new RedisClient(url, {
				lazyConnect: true,
				connectTimeout: options.connectTimeoutMs ?? REDIS_DEFAULTS.connectTimeoutMs,
				commandTimeout: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
				maxRetriesPerRequest: 1,
				enableOfflineQueue: false,
				// A lock must not wait for reconnections: one attempt, then report.
				retryStrategy: () => null,
				...(options.insecureTls ? { tls: { rejectUnauthorized: false } } : {}),
			});
		} catch (error) {
			throw new RedisUnavailable(`Redis at ${where} cannot be used: ${messageOf(error)}`);
		}
		// Errors are reported through the promises below (with the socket's own error, e.g. ECONNREFUSED, which
		// ioredis only emits as an event); without a listener ioredis would also print them.
		let socketError: string | undefined;
		redis.on('error', (error: Error) => (socketError = error.message));
		try {
			await redis.connect();
		} catch (error) {
			redis.disconnect();
			throw new RedisUnavailable(`Redis at ${where} is unreachable: ${socketError ?? messageOf(error)}`);
		}
		return new RedisLockClient(redis, where);
	}

	private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
		try {
			return await run();
		} catch (error) {
			throw new RedisUnavailable(`Redis at ${this.where} failed to ${what}: ${messageOf(error)}`);
		}
	}

	/**
	 * For the connection a run keeps while it holds a lock: reconnect after a dropped connection (commands still fail
	 * at once while it is down, so a renewal reports the outage instead of waiting).
	 */
	keepReconnecting(): void {
		this.redis.options.retryStrategy = (attempt: number) => Math.min(100 * attempt, 1000);
	}

	static keyFor(name: string): string {
		return `${REDIS_DEFAULTS.keyPrefix}${name}`;
	}

	async tryAcquire(key: string, holder: RedisHolder): Promise<boolean> {
		const result = await this.call('take the lock', () =>
			this.redis.eval(ACQUIRE, 2, key, `${key}:holder`, holder.token, JSON.stringify(holder), holder.leaseMs),
		);
		return result === 1;
	}

	/** Extends our lease (and updates the holder's details when given). False: the key is not ours (any more). */
	async renew(key: string, token: string, leaseMs: number, holder?: RedisHolder): Promise<boolean> {
		const result = await this.call('renew the lease', () =>
			this.redis.eval(RENEW, 2, key, `${key}:holder`, token, holder ? JSON.stringify(holder) : '', leaseMs),
		);
		return result === 1;
	}

	/** Deletes the lock only if it carries `token`. False: it did not (already expired, or another holder's). */
	async releaseIfToken(key: string, token: string): Promise<boolean> {
		const result = await this.call('release the lock', () => this.redis.eval(RELEASE, 2, key, `${key}:holder`, token));
		return result === 1;
	}

	async read(key: string): Promise<RedisLockState | undefined> {
		const [token, holder, ttlMs] = await this.call('read the lock', async () => {
			const reply = await this.redis.multi().get(key).get(`${key}:holder`).pttl(key).exec();
			return (reply ?? []).map(([error, value]) => {
				if (error) throw error;
				return value;
			}) as [string | null, string | null, number];
		});
		if (token === null) return undefined;
		let parsed: RedisHolder | undefined;
		try {
			parsed = holder ? (JSON.parse(holder) as RedisHolder) : undefined;
		} catch {
			// Details unreadable: the token alone still says the lock is held.
			parsed = undefined;
		}
		return { token, holder: parsed, ttlMs: Number(ttlMs) };
	}

	close(): void {
		this.redis.disconnect();
	}
}
