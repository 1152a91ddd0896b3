/**
 * What the cleanup does, each step reported as an action: stopping the candidates (confirmed, proven), removing
 * stale locks (the PID file and the Redis key), and replaying a WAL left by a crash. Nothing here deletes a WAL.
 */
import { sleep } from '../base/sleep';
import { findDatabaseHolders, lockHolders } from '../duckdb/database-holders';
import { recoverWal, type WalRecovery } from '../duckdb/recover-wal';
import { keepLease } from '../lock/lease';

import { takeDatabaseLock } from '../lock/take-lock';
import type { CleanupAction } from '../outcome/cleanup-report';
import { trackRun } from '../run/exit-guard';
import { HOOK_DEFAULTS, runHook } from '../run/hooks';
import type { Inspection } from './inspect';
import { candidates, describeCandidate } from './plan';
import { CLEANUP_DEFAULTS, policyMask, type CleanupPolicy } from './policy';
import { refusalFor, stopHolder } from './stop-holder';
import { inspectLock, type JudgeOptions } from '../lock/judge-pid-file';
import { pidFilePathFor, type LockRecord } from '../lock/pid-file-format';
import { removeStaleLock, type RecoveredLock } from '../lock/stale-removal';
import { removeStaleRedisLock } from '../lock/redis-inspect';

export const CANCELED = 'not done: the cleanup was canceled';

function previousPid(previous: RecoveredLock['previous']): number {
	return previous.kind === 'record' ? previous.record.pid : previous.pid;
}

/** A live supervisor releases its own PID file once its job is gone; it is given a moment before it is judged. */
async function waitForRelease(
	databasePath: string,
	timeoutMs: number,
	judge: JudgeOptions,
	signal?: AbortSignal,
): Promise<void> {
	const started = Date.now();
	while (Date.now() - started < timeoutMs && !signal?.aborted) {
		if ((await inspectLock(databasePath, judge)).state !== 'held') return;
		await sleep(50, signal);
	}
}

export async function stopCandidates(
	databasePath: string,
	found: Inspection,
	policy: CleanupPolicy,
): Promise<CleanupAction[]> {
	const actions: CleanupAction[] = [];
	const graceMs = policy.graceMs ?? CLEANUP_DEFAULTS.graceMs;
	for (const candidate of candidates(databasePath, found, policy)) {
		const action = (done: boolean, detail: string): number =>
			actions.push({ action: 'stop-holder', target: `PID ${candidate.pid}`, done, detail });
		const refusal = refusalFor(candidate.pid);
		if (policy.signal?.aborted) action(false, `${CANCELED}: ${describeCandidate(candidate)} left running`);
		else if (refusal) action(false, refusal);
		else if (policy.confirm && !(await policy.confirm(candidate)))
			action(false, `not confirmed: ${describeCandidate(candidate)} left running`);
		else {
			const result = await stopHolder(candidate, graceMs);
			action(result.stopped, `${describeCandidate(candidate)}, ${candidate.why}: ${result.detail}`);
		}
	}
	if (actions.some((entry) => entry.done))
		await waitForRelease(databasePath, CLEANUP_DEFAULTS.releaseWaitMs, found.judge, policy.signal);
	return actions;
}

/** Removes a Redis lock whose holder is provably gone; true when it did (the PID file is then judged anew). */
export async function removeStaleRedis(
	databasePath: string,
	policy: CleanupPolicy,
	actions: CleanupAction[],
): Promise<boolean> {
	if (!policy.redis || policy.signal?.aborted) return false;
	const removal = await removeStaleRedisLock(databasePath, policy.redis);
	if (!removal.removed) return false;
	actions.push({
		action: 'remove-stale-redis-lock',
		target: removal.key,
		done: true,
		detail: `PID ${previousPid(removal.removed.previous)}: ${removal.removed.detail}`,
	});
	return true;
}

/** The After hook a stale lock's run still owed, done with the cleanup's hook (under the removal claim). */
async function payOwedAfter(
	databasePath: string,
	previous: LockRecord,
	policy: CleanupPolicy,
	actions: CleanupAction[],
): Promise<boolean> {
	const pending = previous.afterPending;
	if (!pending || !policy.after || policy.signal?.aborted) return false;
	const report = await runHook(policy.after, 'after', {
		databasePath,
		outcome: { status: 'recovered', database: databasePath, afterPending: pending, pid: previous.pid },
		status: 'recovered',
		timeoutMs: policy.hookTimeoutMs ?? HOOK_DEFAULTS.timeoutMs,
		cwd: process.cwd(),
	});
	actions.push({
		action: 'after-hook',
		target: report.target,
		done: report.ok,
		detail: report.ok
			? `did the After hook PID ${previous.pid} owed (${pending.target})${report.target === pending.target ? '' : ` as ${report.target}`} in ${report.durationMs}ms`
			: `the After hook PID ${previous.pid} owed failed: ${report.error}; the lock stays`,
	});
	return report.ok;
}

export async function removeStalePidFile(
	databasePath: string,
	found: Inspection,
	policy: CleanupPolicy,
	actions: CleanupAction[],
): Promise<void> {
	if (policy.signal?.aborted) return;
	const removed = await removeStaleLock(databasePath, {
		...found.judge,
		afterDone: policy.afterDone,
		payAfter: policy.after ? (previous) => payOwedAfter(databasePath, previous.record, policy, actions) : undefined,
	});
	if (!removed) return;
	const owed = removed.previous.kind === 'record' ? removed.previous.record.afterPending : undefined;
	if (owed && policy.afterDone)
		actions.push({
			action: 'after-hook',
			target: owed.target,
			done: true,
			detail: `done by hand (--after-done): the After hook PID ${previousPid(removed.previous)} owed`,
		});
	actions.push({
		action: 'remove-stale-pid-file',
		target: pidFilePathFor(databasePath),
		done: true,
		detail: `PID ${previousPid(removed.previous)}: ${removed.detail}`,
	});
}

/** Replays and checkpoints a WAL left by a crash, under our own lock (and its lease), with nothing holding the database. */
export async function recoverLeftWal(
	databasePath: string,
	found: Inspection,
	policy: CleanupPolicy,
	actions: CleanupAction[],
): Promise<WalRecovery | undefined> {
	const target = found.wal.files[0].path;
	const action = (done: boolean, detail: string): number =>
		actions.push({ action: 'recover-wal', target, done, detail });
	if (policy.signal?.aborted) return void action(false, CANCELED);
	const ours = await takeDatabaseLock(databasePath, {
		owner: 'duckdb-lock-cleanup WAL recovery',
		redis: policy.redis,
		staleAfterMs: policy.staleAfterMs,
		mask: policyMask(policy),
	});
	if (!ours.acquired) return void action(false, 'not recovered: the database lock is held');
	// A replay can outlast a lease: keep ours alive so no worker elsewhere takes the database for abandoned.
	const lease = keepLease(ours.lock, () => undefined);
	const untrack = trackRun({ lock: ours.lock });
	try {
		const holding = lockHolders(await findDatabaseHolders(databasePath, { probe: true }));
		if (holding.length) return void action(false, `not recovered: PID ${holding[0].pid ?? '?'} holds the database`);
		const recovery = await recoverWal(databasePath);
		const replayed = `replayed and checkpointed ${found.wal.totalBytes} WAL bytes; ${recovery.rows ?? '?'} rows in ${recovery.tables ?? '?'} tables`;
		action(recovery.ok, recovery.ok ? replayed : `walReplayFailed: ${recovery.walReplayFailed}. ${recovery.advice}`);
		return recovery;
	} finally {
		untrack();
		lease.stop();
		if (lease.report.lost) action(false, `our lock was lost during the recovery: ${lease.report.lost}`);
		await ours.lock.release();
	}
}
