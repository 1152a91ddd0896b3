/**
 * The Redis lock backend: the key decides (SET NX PX with a token), the PID file is written after it for people and
 * scripts. A holder provably dead on this machine is cleared at once; any other only when its lease runs out.
 */
import { messageOf } from '../base/errors';
import type { TakeResult } from './database-lock';
import { LEASE_DEFAULTS } from './liveness';
import { pidFilePathFor } from './pid-file-format';
import { newToken } from './pid-file-io';
import { acquireLock, type AcquireOptions, type AcquireResult } from './pid-file-lock';
import { RedisLockClient, RedisUnavailable } from './redis-client';
import { deadLocalHolder, holderFor, redisInspection, redisKeyFor, type RedisBackendOptions } from './redis-inspect';
import { RedisLock } from './redis-lock';
import type { RecoveredLock } from './stale-removal';
import { supervisorRecord } from './supervisor-record';
import { waitForLock, type Attempt } from './wait';

/** Redis says we hold the key: the PID file follows (one left by an earlier Redis holder of this key is stale). */
async function withPidFile(
	databasePath: string,
	options: AcquireOptions,
	client: RedisLockClient,
	key: string,
	token: string,
): Promise<AcquireResult> {
	let file: AcquireResult;
	try {
		file = await acquireLock(databasePath, { ...options, waitMs: 0, redisKey: key, token });
	} catch (error) {
		await client.releaseIfToken(key, token).catch(() => undefined);
		throw error;
	}
	if (!file.acquired) await client.releaseIfToken(key, token);
	return file;
}

interface RedisAttempt {
	databasePath: string;
	options: AcquireOptions;
	client: RedisLockClient;
	key: string;
	heartbeatMs: number;
	leaseMs: number;
	recovered: RecoveredLock[];
	/** Called when the lock is won: the connection then stays open for the lease. */
	keep(): void;
}

/** One try: win the key (then the PID file), or clear a provably dead local holder, or find it held. */
async function attempt(run: RedisAttempt, waited: () => number): Promise<Attempt<TakeResult>> {
	const { databasePath, options, client, key, heartbeatMs, leaseMs, recovered } = run;
	const token = newToken();
	const draft = supervisorRecord(token, options.owner ?? '', options.command, {
		heartbeatMs,
		staleAfterMs: leaseMs,
		redisKey: key,
		mask: options.mask,
	});
	const sentAt = performance.now();
	if (await client.tryAcquire(key, holderFor(databasePath, token, draft, heartbeatMs, leaseMs))) {
		const won = await withPidFile(databasePath, options, client, key, token);
		const all = [...recovered, ...won.recovered];
		// A run with the local-file backend holds this database here: it wins, we are blocked like any other.
		if (!won.acquired) return { result: { ...won, recovered: all, waitedMs: waited() } };
		run.keep();
		const lock = new RedisLock(won.lock, heartbeatMs, leaseMs, client, key, token, databasePath, sentAt);
		return { result: { acquired: true, lock, recovered: all, waitedMs: waited() } };
	}
	const state = await client.read(key);
	if (!state) return { retry: 'now' }; // expired or released between our two calls
	const dead = await deadLocalHolder(state);
	if (dead && (await client.releaseIfToken(key, state.token))) {
		recovered.push({
			reason: dead.reason,
			detail: `${dead.detail} (Redis lock ${key})`,
			previous: { kind: 'record', record: dead.record },
		});
		return { retry: 'now' };
	}
	return {
		held: {
			acquired: false,
			reason: 'held',
			inspection: redisInspection(pidFilePathFor(databasePath), key, state),
			recovered,
			waitedMs: waited(),
		},
	};
}

/** Takes the Redis lock (and the PID file after it); Redis unreachable is `unavailable`: never run unprotected. */
export async function takeRedisLock(
	databasePath: string,
	options: AcquireOptions & { redis: RedisBackendOptions },
): Promise<TakeResult> {
	const started = Date.now();
	const recovered: RecoveredLock[] = [];
	const unavailable = (detail: string): TakeResult => ({
		acquired: false,
		reason: 'unavailable',
		detail,
		recovered,
		waitedMs: Date.now() - started,
	});
	const heartbeatMs = options.heartbeatMs ?? LEASE_DEFAULTS.heartbeatMs;
	let client: RedisLockClient;
	try {
		// A renewal must fail fast enough to leave the lease time to act: at most half a heartbeat.
		client = await RedisLockClient.connect(options.redis.url, {
			...options.redis,
			commandTimeoutMs: Math.max(100, Math.min(3000, Math.floor(heartbeatMs / 2))),
		});
	} catch (error) {
		return unavailable(messageOf(error));
	}
	let keep = false;
	const run: RedisAttempt = {
		databasePath,
		options,
		client,
		key: redisKeyFor(databasePath, options.redis),
		heartbeatMs,
		leaseMs: options.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs,
		recovered,
		keep: () => (keep = true),
	};
	try {
		return await waitForLock(
			options,
			(waitedMs) => ({ acquired: false, reason: 'canceled', recovered, waitedMs }),
			(waited) => attempt(run, waited),
		);
	} catch (error) {
		if (error instanceof RedisUnavailable) return unavailable(error.message);
		throw error;
	} finally {
		if (!keep) client.close();
	}
}
