/**
 * The cleanup's look at a database: its PID file (judged with what Redis says), the Redis lock, every process
 * holding DuckDB's lock (asking DuckDB itself, under our own lock, when nothing is visible), and the WAL files.
 */
import { findWalFiles, type WalReport } from '../base/wal-files';
import { findDatabaseHolders, lockHolders, type DatabaseHolder } from '../duckdb/database-holders';

import { takeDatabaseLock } from '../lock/take-lock';
import type { RedisReport, WalStatus } from '../outcome/cleanup-report';
import { holderFromInspection } from '../outcome/holder-reports';
import { trackRun } from '../run/exit-guard';
import { policyMask, type CleanupPolicy } from './policy';
import { inspectLock, type JudgeOptions, type LockInspection } from '../lock/judge-pid-file';
import { inspectRedisLock, redisKeyFor, type RedisBackendOptions } from '../lock/redis-inspect';

export interface Inspection {
	pidFile: LockInspection;
	redis?: RedisReport;
	/** How the PID file is judged, given what Redis says. */
	judge: JudgeOptions;
	holders: DatabaseHolder[];
	wal: WalReport & { status: WalStatus };
}

/** The token the Redis key holds now (undefined: free); throws when Redis cannot answer. */
async function currentRedisToken(databasePath: string, options: RedisBackendOptions): Promise<string | undefined> {
	const found = await inspectRedisLock(databasePath, options);
	if (found.error) throw new Error(found.error);
	return found.state?.token;
}

async function inspectRedis(
	databasePath: string,
	options: RedisBackendOptions,
): Promise<{ report: RedisReport; token?: string }> {
	const found = await inspectRedisLock(databasePath, options);
	if (found.error) return { report: { key: found.key, state: 'unreachable', error: found.error } };
	if (!found.state || !found.inspection) return { report: { key: found.key, state: 'free' } };
	return {
		report: { key: found.key, state: 'held', holder: holderFromInspection(found.inspection), ttlMs: found.state.ttlMs },
		token: found.state.token,
	};
}

export async function inspect(databasePath: string, mayProbe: boolean, policy: CleanupPolicy): Promise<Inspection> {
	// Redis decides for PID files written under its key: asked afresh each time a PID file is judged (after reading
	// it), so a run that took the key meanwhile is never taken for stale.
	const options = policy.redis;
	const judge: JudgeOptions = {
		staleAfterMs: policy.staleAfterMs,
		mask: policyMask(policy),
		redis: options
			? { key: redisKeyFor(databasePath, options), currentToken: async () => currentRedisToken(databasePath, options) }
			: undefined,
	};
	const pidFile = await inspectLock(databasePath, judge);
	const redis = options ? (await inspectRedis(databasePath, options)).report : undefined;
	// Only a lock held here, by a process proven to be its holder, says which processes are our jobs.
	const record =
		pidFile.state === 'held' && !pidFile.remote && pidFile.holder.identityProven && pidFile.previous?.kind === 'record'
			? pidFile.previous.record
			: undefined;
	let holders = await findDatabaseHolders(databasePath, { ourJob: record?.role === 'job' ? record : undefined });
	// Inspect Only takes no lock at all, not even our own for a moment; the other policies may.
	if (mayProbe && !lockHolders(holders).length && pidFile.state === 'none' && (!redis || redis.state === 'free')) {
		// Nobody visible: ask DuckDB (a holder in another PID namespace), under our own lock so no run starts meanwhile.
		const ours = await takeDatabaseLock(databasePath, {
			owner: 'duckdb-lock-cleanup probe',
			redis: policy.redis,
			staleAfterMs: policy.staleAfterMs,
			mask: policyMask(policy),
		});
		if (ours.acquired) {
			// Released on every path, also when this process is made to exit during the probe.
			const untrack = trackRun({ lock: ours.lock });
			try {
				holders = await findDatabaseHolders(databasePath, {
					ourJob: record?.role === 'job' ? record : undefined,
					probe: true,
				});
			} finally {
				untrack();
				await ours.lock.release();
			}
		}
	}
	const wal = findWalFiles(databasePath);
	const redisHeld = redis !== undefined && redis.state !== 'free';
	const status: WalStatus = !wal.present
		? 'none'
		: lockHolders(holders).length || pidFile.state === 'held' || redisHeld
			? 'in-use'
			: 'left-by-crash';
	return { pidFile, redis, judge, holders, wal: { ...wal, status } };
}
