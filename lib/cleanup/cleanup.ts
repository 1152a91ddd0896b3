/**
 * Lock cleanup: inspect → plan → act per policy → report.
 *
 * Policies, from safest: inspect only; remove stale locks (always safe: a stale PID file's holder is provably gone);
 * also stop our own stuck jobs older than an age; also stop any other holder (explicit opt-in). WAL recovery is its
 * own opt-in and runs only under our lock with nothing holding the database. Nothing here deletes a WAL file.
 */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { formatDuration } from '../base/duration';
import { UsageError } from '../base/errors';
import { isDirectory, pathProblem } from '../base/paths';
import { inspectLock, pidFilePathFor, removeStaleLock, type JudgeOptions, type LockInspection, type RecoveredLock } from '../lock/pid-file-lock';
import { inspectRedisLock, redisKeyFor, removeStaleRedisLock, takeDatabaseLock, type RedisBackendOptions } from '../lock/take-lock';
import type { HolderReport } from '../outcome/outcome';
import { holderFromInspection } from '../outcome/holder-reports';
import { findDatabaseHolders, lockHolders, type DatabaseHolder } from '../duckdb/database-holders';
import { recoverWal, type WalRecovery } from '../duckdb/recover-wal';
import { findWalFiles, type WalReport } from '../base/wal-files';
import { readProcess } from '../proc/identity';
import { keepLease } from '../lock/lease';
import { trackRun } from '../run/guard';
import { stopHolder, refusalFor, type StopTarget } from './stop-holder';
import { sleep } from '../base/sleep';

export const CLEANUP_DEFAULTS = { graceMs: 10_000, stuckAfterMs: 180 * 60_000, releaseWaitMs: 3000 };

export interface CleanupPolicy {
	/** false: inspect only. */
	removeStale: boolean;
	/** Stop our own jobs (named by the PID file) running longer than this. */
	stopStuckAfterMs?: number;
	/** Stop any process holding the database (explicit opt-in). */
	stopAllHolders?: boolean;
	recoverWal?: boolean;
	graceMs?: number;
	/** Asked before each stop (a terminal prompt); absent means the policy itself is the confirmation. */
	confirm?: (target: StopCandidate) => Promise<boolean>;
	/** Holders we cannot check by PID are stale once their heartbeat is this old (default 60 s). */
	staleAfterMs?: number;
	/** The Redis lock backend, when the runs use it. */
	redis?: RedisBackendOptions;
	/** Cancels the cleanup (n8n's Stop, Ctrl-C): no further stop, removal or WAL recovery starts; a stop under way finishes. */
	signal?: AbortSignal;
}

/** The Redis side of the lock: free, held (by whom, how long its lease still runs), or unreachable. */
export interface RedisReport {
	key: string;
	state: 'free' | 'held' | 'unreachable';
	holder?: HolderReport;
	ttlMs?: number;
	error?: string;
}

export interface StopCandidate {
	pid: number;
	command: string;
	elapsedSeconds?: number;
	ours: boolean;
	why: string;
}

export type WalStatus = 'none' | 'in-use' | 'left-by-crash';

export interface CleanupAction {
	action: 'remove-stale-pid-file' | 'remove-stale-redis-lock' | 'stop-holder' | 'recover-wal';
	target: string;
	done: boolean;
	detail: string;
}

export interface CleanupReport {
	state: 'clean' | 'recovered' | 'held';
	summary: string;
	database: string;
	backend: 'file' | 'redis';
	pidFile: LockInspection;
	redis?: RedisReport;
	holders: DatabaseHolder[];
	wal: WalReport & { status: WalStatus };
	actions: CleanupAction[];
	/** What still stands in the way, in words. */
	remaining: string[];
	walRecovery?: WalRecovery;
}

interface Inspection {
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

async function inspectRedis(databasePath: string, options: RedisBackendOptions): Promise<{ report: RedisReport; token?: string }> {
	const found = await inspectRedisLock(databasePath, options);
	if (found.error) return { report: { key: found.key, state: 'unreachable', error: found.error } };
	if (!found.state || !found.inspection) return { report: { key: found.key, state: 'free' } };
	return { report: { key: found.key, state: 'held', holder: holderFromInspection(found.inspection), ttlMs: found.state.ttlMs }, token: found.state.token };
}

async function inspect(databasePath: string, mayProbe: boolean, policy: CleanupPolicy): Promise<Inspection> {
	// Redis decides for PID files written under its key: asked afresh each time a PID file is judged (after reading
	// it), so a run that took the key meanwhile is never taken for stale.
	const options = policy.redis;
	const judge: JudgeOptions = {
		staleAfterMs: policy.staleAfterMs,
		redis: options ? { key: redisKeyFor(databasePath, options), currentToken: async () => currentRedisToken(databasePath, options) } : undefined,
	};
	const pidFile = await inspectLock(databasePath, judge);
	const redis = options ? (await inspectRedis(databasePath, options)).report : undefined;
	// Only a lock held here, by a process proven to be its holder, says which processes are our jobs.
	const record = pidFile.state === 'held' && !pidFile.remote && pidFile.holder.identityProven && pidFile.previous?.kind === 'record' ? pidFile.previous.record : undefined;
	let holders = await findDatabaseHolders(databasePath, { ourJob: record?.role === 'job' ? record : undefined });
	// Inspect Only takes no lock at all, not even our own for a moment; the other policies may.
	if (mayProbe && !lockHolders(holders).length && pidFile.state === 'none' && (!redis || redis.state === 'free')) {
		// Nobody visible: ask DuckDB (a holder in another PID namespace), under our own lock so no run starts meanwhile.
		const ours = await takeDatabaseLock(databasePath, { owner: 'duckdb-lock-cleanup probe', redis: policy.redis, staleAfterMs: policy.staleAfterMs });
		if (ours.acquired) {
			// Released on every path, also when this process is made to exit during the probe.
			const untrack = trackRun({ lock: ours.lock });
			try {
				holders = await findDatabaseHolders(databasePath, { ourJob: record?.role === 'job' ? record : undefined, probe: true });
			} finally {
				untrack();
				await ours.lock.release();
			}
		}
	}
	const wal = findWalFiles(databasePath);
	const redisHeld = redis !== undefined && redis.state !== 'free';
	const status: WalStatus = !wal.present ? 'none' : lockHolders(holders).length || pidFile.state === 'held' || redisHeld ? 'in-use' : 'left-by-crash';
	return { pidFile, redis, judge, holders, wal: { ...wal, status } };
}

/** What a process really runs (from /proc), with what the lock file claims beside it when that differs. */
function realCommand(pid: number, claimed: string): string {
	const actual = readProcess(pid)?.command;
	if (!actual || actual === claimed) return claimed;
	return `${actual}; the lock file says "${claimed.length > 80 ? `${claimed.slice(0, 77)}...` : claimed}"`;
}

/** Our job as the PID file names it: stoppable as a whole process group, once proven to be that job. */
function pidFileJob(databasePath: string, pidFile: LockInspection): (StopCandidate & StopTarget) | undefined {
	if (pidFile.state !== 'held' || pidFile.remote || pidFile.holder.role === 'legacy' || !pidFile.holder.identityProven) return undefined;
	const record = pidFile.previous?.kind === 'record' ? pidFile.previous.record : undefined;
	if (!record || record.role !== 'job' || pidFile.holder.role !== 'job') return undefined;
	return {
		pid: record.pid, startTicks: record.pidStart, group: true, command: realCommand(record.pid, record.command), elapsedSeconds: pidFile.holder.elapsedSeconds, ours: true,
		why: 'our job (named by the PID file)', proof: { databasePath, lock: { pidFile: pidFile.pidFile, token: record.token } },
	};
}

function candidates(databasePath: string, found: Inspection, policy: CleanupPolicy): Array<StopCandidate & StopTarget> {
	const list: Array<StopCandidate & StopTarget> = [];
	const job = pidFileJob(databasePath, found.pidFile);
	const stuck = (elapsedSeconds: number | undefined): boolean => policy.stopStuckAfterMs !== undefined && (elapsedSeconds ?? 0) * 1000 >= policy.stopStuckAfterMs;
	if (job && (policy.stopAllHolders || stuck(job.elapsedSeconds))) list.push(job);
	for (const holder of found.holders) {
		if (holder.pid === null || holder.lock === 'open') continue;
		if (list.some((entry) => entry.pid === holder.pid) || (job && holder.ours)) continue;
		const eligible = policy.stopAllHolders || (holder.ours && stuck(holder.elapsedSeconds));
		if (eligible) list.push({ pid: holder.pid, startTicks: holder.startTicks, group: false, command: holder.command, elapsedSeconds: holder.elapsedSeconds, ours: holder.ours, why: `holds DuckDB's ${holder.lock} lock`, proof: { databasePath } });
	}
	return list;
}

async function waitForRelease(databasePath: string, timeoutMs: number, judge: JudgeOptions, signal?: AbortSignal): Promise<void> {
	const started = Date.now();
	while (Date.now() - started < timeoutMs && !signal?.aborted) {
		if ((await inspectLock(databasePath, judge)).state !== 'held') return;
		await sleep(50, signal);
	}
}

function previousPid(previous: RecoveredLock['previous']): number {
	return previous.kind === 'record' ? previous.record.pid : previous.pid;
}

/** A mistyped path must not be reported as a clean database: something of it (file, lock, WAL) has to exist. */
function checkDatabasePath(databasePath: string): void {
	const problem = pathProblem(databasePath, 'database path', { lockFiles: true });
	if (problem) throw new UsageError(problem);
	const folder = dirname(databasePath);
	if (!isDirectory(folder)) throw new UsageError(`The database folder ${folder} does not exist. Fix the database path.`);
	const traces = [databasePath, pidFilePathFor(databasePath), `${pidFilePathFor(databasePath)}.recover`];
	if (!traces.some((path) => existsSync(path)) && !findWalFiles(databasePath).present) {
		throw new UsageError(`There is no database ${databasePath} (no file, no lock file, no WAL). Fix the database path.`);
	}
}

const CANCELED = 'not done: the cleanup was canceled';

export function describeCandidate(candidate: StopCandidate): string {
	const running = candidate.elapsedSeconds !== undefined ? `, running ${formatDuration(candidate.elapsedSeconds * 1000)}` : '';
	return `process ${candidate.pid} (${candidate.command}${running})`;
}

export async function cleanupDatabase(databasePath: string, policy: CleanupPolicy): Promise<CleanupReport> {
	checkDatabasePath(databasePath);
	const actions: CleanupAction[] = [];
	const graceMs = policy.graceMs ?? CLEANUP_DEFAULTS.graceMs;
	const canceled = (): boolean => policy.signal?.aborted === true;
	let found = await inspect(databasePath, policy.removeStale, policy);

	if (policy.removeStale) {
		for (const candidate of candidates(databasePath, found, policy)) {
			if (canceled()) {
				actions.push({ action: 'stop-holder', target: `PID ${candidate.pid}`, done: false, detail: `${CANCELED}: ${describeCandidate(candidate)} left running` });
				continue;
			}
			const refusal = refusalFor(candidate.pid);
			if (refusal) {
				actions.push({ action: 'stop-holder', target: `PID ${candidate.pid}`, done: false, detail: refusal });
				continue;
			}
			if (policy.confirm && !(await policy.confirm(candidate))) {
				actions.push({ action: 'stop-holder', target: `PID ${candidate.pid}`, done: false, detail: `not confirmed: ${describeCandidate(candidate)} left running` });
				continue;
			}
			const result = await stopHolder(candidate, graceMs);
			actions.push({ action: 'stop-holder', target: `PID ${candidate.pid}`, done: result.stopped, detail: `${describeCandidate(candidate)}, ${candidate.why}: ${result.detail}` });
		}
		// A live supervisor releases its own PID file once its job is gone; give it a moment before judging.
		if (actions.some((action) => action.action === 'stop-holder' && action.done)) await waitForRelease(databasePath, CLEANUP_DEFAULTS.releaseWaitMs, found.judge, policy.signal);
		if (policy.redis && !canceled()) {
			const redisRemoval = await removeStaleRedisLock(databasePath, policy.redis);
			if (redisRemoval.removed) {
				actions.push({ action: 'remove-stale-redis-lock', target: redisRemoval.key, done: true, detail: `PID ${previousPid(redisRemoval.removed.previous)}: ${redisRemoval.removed.detail}` });
				found = await inspect(databasePath, false, policy);
			}
		}
		const removed = canceled() ? undefined : await removeStaleLock(databasePath, found.judge);
		if (removed) {
			actions.push({ action: 'remove-stale-pid-file', target: pidFilePathFor(databasePath), done: true, detail: `PID ${previousPid(removed.previous)}: ${removed.detail}` });
		}
		found = await inspect(databasePath, policy.removeStale, policy);
	}

	let walRecovery: WalRecovery | undefined;
	if (policy.removeStale && policy.recoverWal && found.wal.present && canceled()) {
		actions.push({ action: 'recover-wal', target: found.wal.files[0].path, done: false, detail: CANCELED });
	} else if (policy.removeStale && policy.recoverWal && found.wal.present) {
		const ours = await takeDatabaseLock(databasePath, { owner: 'duckdb-lock-cleanup WAL recovery', redis: policy.redis, staleAfterMs: policy.staleAfterMs });
		if (!ours.acquired) {
			actions.push({ action: 'recover-wal', target: found.wal.files[0].path, done: false, detail: 'not recovered: the database lock is held' });
		} else {
			// A replay can outlast a lease: keep ours alive so no worker elsewhere takes the database for abandoned.
			const lease = keepLease(ours.lock, () => undefined);
			const untrack = trackRun({ lock: ours.lock });
			try {
				const holding = lockHolders(await findDatabaseHolders(databasePath, { probe: true }));
				if (holding.length) {
					actions.push({ action: 'recover-wal', target: found.wal.files[0].path, done: false, detail: `not recovered: PID ${holding[0].pid ?? '?'} holds the database` });
				} else {
					walRecovery = await recoverWal(databasePath);
					actions.push({
						action: 'recover-wal',
						target: found.wal.files[0].path,
						done: walRecovery.ok,
						detail: walRecovery.ok
							? `replayed and checkpointed ${found.wal.totalBytes} WAL bytes; ${walRecovery.rows ?? '?'} rows in ${walRecovery.tables ?? '?'} tables`
							: `walReplayFailed: ${walRecovery.walReplayFailed}. ${walRecovery.advice}`,
					});
				}
			} finally {
				untrack();
				lease.stop();
				if (lease.report.lost) actions.push({ action: 'recover-wal', target: found.wal.files[0].path, done: false, detail: `our lock was lost during the recovery: ${lease.report.lost}` });
				await ours.lock.release();
			}
		}
		found = await inspect(databasePath, policy.removeStale, policy);
	}
	return report(databasePath, found, actions, walRecovery);
}

function report(databasePath: string, found: Inspection, actions: CleanupAction[], walRecovery?: WalRecovery): CleanupReport {
	const remaining: string[] = [];
	const pidFile = found.pidFile;
	const redis = found.redis;
	if (redis?.state === 'unreachable') remaining.push(`the Redis lock cannot be checked: ${redis.error}`);
	if (redis?.state === 'held' && redis.holder) {
		const age = redis.holder.heartbeatAgeSeconds !== undefined ? `, heartbeat ${redis.holder.heartbeatAgeSeconds}s ago` : '';
		remaining.push(`the Redis lock ${redis.key} is held from host ${redis.holder.host} by PID ${redis.holder.pid} (${redis.holder.command}${age}, ${Math.round((redis.ttlMs ?? 0) / 1000)}s left on its lease)`);
	}
	if (pidFile.state === 'held') {
		const where = pidFile.remote ? ` in ${pidFile.holder.where ?? `host ${pidFile.holder.host}`}${pidFile.holder.heartbeatAgeMs !== undefined ? `, heartbeat ${Math.round(pidFile.holder.heartbeatAgeMs / 1000)}s ago` : ''}` : '';
		remaining.push(`${basename(databasePath)}.pid is held by PID ${pidFile.holder.pid}${where} (${pidFile.holder.command})`);
	}
	if (pidFile.state === 'unreadable') remaining.push(`${basename(databasePath)}.pid is unreadable (${pidFile.reason}); inspect it and remove it by hand if no run is active`);
	if (pidFile.state === 'stale') {
		// A claim left by a recovery that hung (or an unreadable one) keeps every remover out, this one included.
		const claim = `${pidFilePathFor(databasePath)}.recover`;
		remaining.push(existsSync(claim)
			? `${basename(databasePath)}.pid is stale (${pidFile.detail}) but the recovery claim ${claim} blocks its removal; if no run or cleanup is active, inspect that claim and remove it by hand`
			: `${basename(databasePath)}.pid is stale (${pidFile.detail}); run with the Remove Stale Locks action`);
	}
	for (const holder of lockHolders(found.holders)) {
		if (pidFile.state === 'held' && holder.ours) continue;
		remaining.push(`${holder.pid === null ? 'a process in another PID namespace' : `PID ${holder.pid} (${holder.command})`} holds DuckDB's ${holder.lock} lock`);
	}
	if (found.wal.status === 'left-by-crash') remaining.push(`a WAL left by a crash (${found.wal.totalBytes} bytes) awaits recovery: it holds committed data; recover it (--recover-wal), never delete it`);
	// Anything that keeps a run from starting is held: a stale PID file behind a recovery claim blocks every run too.
	const claimBlocks = pidFile.state === 'stale' && existsSync(`${pidFilePathFor(databasePath)}.recover`);
	const held = pidFile.state === 'held' || pidFile.state === 'unreadable' || claimBlocks || lockHolders(found.holders).length > 0 || (redis !== undefined && redis.state !== 'free');
	const state: CleanupReport['state'] = held ? 'held' : actions.some((action) => action.done) ? 'recovered' : 'clean';
	const db = basename(databasePath);
	const did = actions.filter((action) => action.done).map((action) => action.action.replace(/-/g, ' '));
	const summary =
		state === 'held' ? `Held: ${db}: ${remaining[0] ?? 'still held'}${did.length ? ` (done: ${did.join(', ')})` : ''}`
		: state === 'recovered' ? `Recovered: ${db}: ${actions.filter((action) => action.done).map((action) => action.detail).join('; ')}`
		: `Clean: ${db}: nothing holds it${remaining.length ? `; ${remaining.join('; ')}` : ''}`;
	return { state, summary, database: databasePath, backend: redis ? 'redis' : 'file', pidFile, redis, holders: found.holders, wal: found.wal, actions, remaining, walRecovery };
}
