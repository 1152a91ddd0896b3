/**
 * The Redis lock as anyone sees it: its name, its holder's record (what this process writes, and how another one is
 * reported), whether a holder on this machine is provably dead, and the look and the stale removal the cleanup uses.
 */
import { resolve } from 'node:path';
import { messageOf } from '../base/errors';
import { groupAlive } from '../proc/group';
import { bootId, hostName, pidNamespace } from '../proc/identity';
import { lookupProcess } from '../proc/lookup';
import type { LockInspection } from './judge-pid-file';
import { checkableByPid, judgeLock } from './liveness';
import { boundValue, pidFilePathFor, type LockRecord } from './pid-file-format';
import { RedisLockClient, type RedisHolder, type RedisLockState } from './redis-client';
import type { RecoveredLock } from './stale-removal';

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
export function holderFor(
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
export async function deadLocalHolder(
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
