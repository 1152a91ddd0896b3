/**
 * The Redis lock backend: the key decides (SET NX PX with a token), the PID file is written after it for people and
 * scripts. A holder provably dead on this machine is cleared at once; any other only when its lease runs out.
 */
import { resolve } from 'node:path';
import { bootId, hostName, pidNamespace } from '../proc/identity';
import { lookupProcess } from '../proc/lookup';
import { groupAlive } from '../proc/group';
import {
	acquireLock,
	pidFilePathFor,
	supervisorRecord,
	type AcquireOptions,
	type AcquireResult,
	type HeldLock,
	type JobIdentity,
	type LockInspection,
	type RecoveredLock,
	type ReleaseResult,
} from './pid-file-lock';
import { checkableByPid, judgeLock, LEASE_DEFAULTS } from './liveness';
import { messageOf } from '../base/errors';
import { newToken } from './pid-file-io';

import { boundValue, type LockRecord } from './pid-file-format';
import { RedisLockClient, RedisUnavailable, type RedisHolder, type RedisLockState } from './redis-client';
import { abandonQuietly, FileLock, lostBy, type RenewResult, type TakeResult } from './database-lock';
import { waitForLock, type Attempt } from './wait';

export interface RedisBackendOptions {
	url: string;
	/** Lock name shared by every worker (default: the database's absolute path, which must then be the same everywhere). */
	key?: string;
	connectTimeoutMs?: number;
	/** rediss:// with a self-signed certificate: do not verify it (n8n's "Disable TLS Verification"). */
	insecureTls?: boolean;
}

export function redisKeyFor(databasePath: string, options: RedisBackendOptions): string {
	return RedisLockClient.keyFor(options.key?.trim() || resolve(databasePath));
}

/** The Redis holder record for this process; role and PID follow the PID file's line 1. */
function holderFor(
	databasePath: string,
	token: string,
	record: LockRecord,
	heartbeatMs: number,
	leaseMs: number,
): RedisHolder {
	return {
		token,
		database: resolve(databasePath),
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		pid: record.pid,
		role: record.role,
		pidStart: record.pidStart,
		pgid: record.pgid,
		supervisorPid: record.supervisor.pid,
		supervisorStart: record.supervisor.startTicks,
		command: boundValue(record.command),
		owner: boundValue(record.owner),
		lockedAt: record.lockedAt,
		heartbeatMs,
		leaseMs,
	};
}

class RedisLock extends FileLock {
	constructor(
		held: HeldLock,
		heartbeatMs: number,
		staleAfterMs: number,
		private readonly client: RedisLockClient,
		private readonly key: string,
		private readonly keyToken: string,
		private readonly databasePath: string,
		/** performance.now() when the SET that took the key was sent: the lease runs from there. */
		takenAt: number,
	) {
		super(held, heartbeatMs, staleAfterMs);
		this.lastRenewed = takenAt;
		client.keepReconnecting();
	}

	/** Holder details Redis has not taken yet: sent with every renewal until one succeeds. */
	private pendingHolder?: ReturnType<typeof holderFor>;

	async recordJob(job: JobIdentity): Promise<void> {
		this.held.recordJob(job);
		// The holder details follow: the lease itself is unchanged, and a failed update is retried by the next renewal
		// (until then Redis names the supervisor, whose death alone must not make the key look abandoned).
		this.pendingHolder = holderFor(
			this.databasePath,
			this.keyToken,
			this.held.record,
			this.heartbeatMs,
			this.staleAfterMs,
		);
		if (await this.client.renew(this.key, this.keyToken, this.staleAfterMs, this.pendingHolder).catch(() => false))
			this.pendingHolder = undefined;
	}

	async renew(): Promise<RenewResult> {
		const sentAt = performance.now();
		// Our PID file gone or replaced: a run without Redis may have taken the database: never two writers.
		let file: RenewResult;
		try {
			file = this.held.heartbeat()
				? { ok: true }
				: { ok: false, lost: true, detail: `${this.pidFile} is no longer ours (removed or replaced)` };
		} catch (error) {
			file = { ok: false, lost: false, detail: `the heartbeat of ${this.pidFile} failed: ${messageOf(error)}` };
		}
		if (!file.ok && file.lost) return file;
		try {
			const ours = await this.client.renew(this.key, this.keyToken, this.staleAfterMs, this.pendingHolder);
			if (ours) this.pendingHolder = undefined;
			if (!ours)
				return {
					ok: false,
					lost: true,
					detail: `the Redis lock ${this.key} is no longer ours (its lease ran out or it was removed)`,
				};
			this.lastRenewed = sentAt;
			return file;
		} catch (error) {
			// Redis unreachable: the lease runs until it expires; the job is stopped before it can.
			const silentMs = performance.now() - this.lastRenewed;
			return {
				ok: false,
				lost: lostBy(silentMs, this.staleAfterMs, this.heartbeatMs),
				detail: `${messageOf(error)} (no renewal for ${Math.round(silentMs / 100) / 10}s; the lease lasts ${Math.round(this.staleAfterMs / 1000)}s)`,
			};
		}
	}

	async release(): Promise<ReleaseResult> {
		const file = this.held.release();
		try {
			const released = await this.client.releaseIfToken(this.key, this.keyToken);
			if (!released)
				return {
					released: false,
					reason: 'not-owner',
					detail: `the Redis lock ${this.key} was no longer ours when released (its lease had run out)`,
				};
			return file.released || file.reason === 'absent' ? { released: true } : file;
		} catch (error) {
			return {
				released: false,
				reason: 'not-owner',
				detail: `${messageOf(error)}; the Redis lock expires by itself ${Math.round(this.staleAfterMs / 1000)}s after the last renewal`,
			};
		} finally {
			this.client.close();
		}
	}

	releaseSync(): void {
		this.held.release();
		this.client.close();
	}

	abandon(): void {
		abandonQuietly(this.held);
		this.client.close();
	}
}

/** A Redis holder as the lock verdict's holder (for Blocked outcomes and reports). */
export function redisInspection(
	pidFile: string,
	key: string,
	state: RedisLockState,
): LockInspection & { state: 'held' } {
	const holder = state.holder;
	const local = holder
		? checkableByPid(
				{ bootId: holder.bootId, pidNamespace: holder.pidNamespace, host: holder.host },
				{ host: hostName(), bootId: bootId(), pidNamespace: pidNamespace() },
			)
		: false;
	const ageMs = holder ? Math.max(0, holder.leaseMs - state.ttlMs) : undefined;
	return {
		pidFile,
		state: 'held',
		remote: !local,
		holder: {
			pid: holder?.pid ?? 0,
			role: holder?.role ?? 'supervisor',
			host: holder?.host ?? '?',
			command: holder?.command ?? '(holder details missing)',
			identityProven: false,
			owner: holder?.owner,
			lockedAt: holder?.lockedAt,
			heartbeatAgeMs: ageMs,
			staleAfterMs: holder?.leaseMs,
			where: `Redis lock ${key}${holder ? ` held from host ${holder.host}` : ''}, ${Math.round(state.ttlMs / 100) / 10}s left on its lease`,
		},
	};
}

/** A Redis holder on this kernel and PID namespace can be checked by PID: if provably gone, its lock is stale now. */
async function deadLocalHolder(
	state: RedisLockState,
): Promise<{ detail: string; reason: RecoveredLock['reason']; record: LockRecord } | undefined> {
	const holder = state.holder;
	if (!holder) return undefined;
	const record: LockRecord = {
		pid: holder.pid,
		role: holder.role,
		pidStart: holder.pidStart,
		pgid: holder.pgid,
		command: holder.command,
		host: holder.host,
		bootId: holder.bootId,
		pidNamespace: holder.pidNamespace,
		lockedAt: holder.lockedAt,
		owner: holder.owner,
		token: holder.token,
		supervisor: { pid: holder.supervisorPid, startTicks: holder.supervisorStart, command: '' },
	};
	const local = { host: hostName(), bootId: bootId(), pidNamespace: pidNamespace() };
	if (!checkableByPid(record, local)) return undefined;
	const pids = [...new Set([holder.pid, holder.supervisorPid])];
	const facts = new Map(await Promise.all(pids.map(async (pid) => [pid, await lookupProcess(pid)] as const)));
	const verdict = judgeLock({ kind: 'record', record }, { ...local, process: (pid) => facts.get(pid), groupAlive });
	return verdict.state === 'stale' ? { detail: verdict.detail, reason: verdict.reason, record } : undefined;
}

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

export async function takeRedisLock(
	databasePath: string,
	options: AcquireOptions & { redis: RedisBackendOptions },
): Promise<TakeResult> {
	const started = Date.now();
	const recovered: RecoveredLock[] = [];
	const heartbeatMs = options.heartbeatMs ?? LEASE_DEFAULTS.heartbeatMs;
	const leaseMs = options.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs;
	const key = redisKeyFor(databasePath, options.redis);
	const pidFile = pidFilePathFor(databasePath);
	let client: RedisLockClient;
	try {
		// A renewal must fail fast enough to leave the lease time to act: at most half a heartbeat.
		client = await RedisLockClient.connect(options.redis.url, {
			...options.redis,
			commandTimeoutMs: Math.max(100, Math.min(3000, Math.floor(heartbeatMs / 2))),
		});
	} catch (error) {
		return {
			acquired: false,
			reason: 'unavailable',
			detail: messageOf(error),
			recovered,
			waitedMs: Date.now() - started,
		};
	}
	let keep = false;
	try {
		return await waitForLock(
			options,
			(waitedMs) => ({ acquired: false, reason: 'canceled', recovered, waitedMs }),
			async (waited): Promise<Attempt<TakeResult>> => {
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
					if (won.acquired) {
						keep = true;
						const lock = new RedisLock(won.lock, heartbeatMs, leaseMs, client, key, token, databasePath, sentAt);
						return {
							result: { acquired: true, lock, recovered: [...recovered, ...won.recovered], waitedMs: waited() },
						};
					}
					// A run with the local-file backend holds this database here: it wins, we are blocked like any other.
					return { result: { ...won, recovered: [...recovered, ...won.recovered], waitedMs: waited() } };
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
						inspection: redisInspection(pidFile, key, state),
						recovered,
						waitedMs: waited(),
					},
				};
			},
		);
	} catch (error) {
		if (error instanceof RedisUnavailable)
			return {
				acquired: false,
				reason: 'unavailable',
				detail: error.message,
				recovered,
				waitedMs: Date.now() - started,
			};
		throw error;
	} finally {
		if (!keep) client.close();
	}
}

/** A read-only look at the Redis side of a database's lock. */
export async function inspectRedisLock(
	databasePath: string,
	options: RedisBackendOptions,
): Promise<{ key: string; state?: RedisLockState; inspection?: LockInspection & { state: 'held' }; error?: string }> {
	const key = redisKeyFor(databasePath, options);
	let client: RedisLockClient | undefined;
	try {
		client = await RedisLockClient.connect(options.url, options);
		const state = await client.read(key);
		return { key, state, inspection: state ? redisInspection(pidFilePathFor(databasePath), key, state) : undefined };
	} catch (error) {
		return { key, error: messageOf(error) };
	} finally {
		client?.close();
	}
}

/** Removes a Redis lock whose holder is provably gone (same machine and PID namespace, process dead). */
export async function removeStaleRedisLock(
	databasePath: string,
	options: RedisBackendOptions,
): Promise<{ key: string; removed?: RecoveredLock; error?: string }> {
	const key = redisKeyFor(databasePath, options);
	let client: RedisLockClient | undefined;
	try {
		client = await RedisLockClient.connect(options.url, options);
		const state = await client.read(key);
		const dead = state ? await deadLocalHolder(state) : undefined;
		if (state && dead && (await client.releaseIfToken(key, state.token))) {
			return {
				key,
				removed: {
					reason: dead.reason,
					detail: `${dead.detail} (Redis lock ${key})`,
					previous: { kind: 'record', record: dead.record },
				},
			};
		}
		return { key };
	} catch (error) {
		return { key, error: messageOf(error) };
	} finally {
		client?.close();
	}
}
