/**
 * The cleanup report: what still stands in the way (in words, holders in the one holder wording), the state
 * (anything that keeps a run from starting is Held, never Clean) and the one-line summary.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { lockHolders } from '../duckdb/database-holders';

import type { CleanupAction, CleanupReport } from '../outcome/cleanup-report';
import type { PendingAfter } from '../outcome/outcome';
import { holderFromDatabase, holderFromInspection } from '../outcome/holder-reports';
import type { CleanupState } from '../outcome/status';
import { describeHolder } from '../outcome/summary';
import type { WalRecovery } from '../duckdb/recover-wal';
import type { Inspection } from './inspect';
import { type LockInspection } from '../lock/judge-pid-file';
import { pidFilePathFor } from '../lock/pid-file-format';

function pidFileLines(db: string, pidFile: LockInspection, claimExists: boolean, claim: string): string[] {
	const holder = holderFromInspection(pidFile);
	if (pidFile.state === 'held' && holder) return [`${db}.pid is held by ${describeHolder(holder)}`];
	if (pidFile.state === 'unreadable')
		return [`${db}.pid is unreadable (${pidFile.reason}); inspect it and remove it by hand if no run is active`];
	if (pidFile.state !== 'stale') return [];
	const owed = owedAfter(pidFile);
	if (owed)
		return [
			`${db}.pid is stale (${pidFile.detail}) and its run (PID ${owed.pid}) still owes its After hook ${owed.target}: give the cleanup an After hook (--after-request, --after-command), or do it by hand and run it with --after-done`,
		];
	// A claim left by a recovery that hung (or an unreadable one) keeps every remover out, this one included.
	return [
		claimExists
			? `${db}.pid is stale (${pidFile.detail}) but the recovery claim ${claim} blocks its removal; if no run or cleanup is active, inspect that claim and remove it by hand`
			: `${db}.pid is stale (${pidFile.detail}); run with the Remove Stale Locks action`,
	];
}

/** The After hook a stale lock's run still owed, if any. */
export function owedAfter(pidFile: LockInspection): (PendingAfter & { pid: number }) | undefined {
	const record = pidFile.state === 'stale' && pidFile.previous?.kind === 'record' ? pidFile.previous.record : undefined;
	return record?.afterPending ? { ...record.afterPending, pid: record.pid } : undefined;
}

/** Pure: what still stands in the way of a run, in words. */
export function remainingLines(databasePath: string, found: Inspection, claimExists: boolean): string[] {
	const remaining: string[] = [];
	const { pidFile, redis } = found;
	if (redis?.state === 'unreachable') remaining.push(`the Redis lock cannot be checked: ${redis.error}`);
	if (redis?.state === 'held' && redis.holder) {
		const lease = `${Math.round((redis.ttlMs ?? 0) / 1000)}s left on its lease`;
		remaining.push(
			`the Redis lock ${redis.key} is held from host ${redis.holder.host} by ${describeHolder({ ...redis.holder, remote: false })}, ${lease}`,
		);
	}
	remaining.push(
		...pidFileLines(basename(databasePath), pidFile, claimExists, `${pidFilePathFor(databasePath)}.recover`),
	);
	for (const holder of lockHolders(found.holders)) {
		if (pidFile.state === 'held' && holder.ours) continue;
		remaining.push(`${describeHolder(holderFromDatabase(holder))} holds the database`);
	}
	if (found.wal.status === 'left-by-crash')
		remaining.push(
			`a WAL left by a crash (${found.wal.totalBytes} bytes) awaits recovery: it holds committed data; recover it (--recover-wal), never delete it`,
		);
	return remaining;
}

/** Pure: held when anything keeps a run from starting (a stale PID file behind a recovery claim too). */
export function cleanupState(found: Inspection, claimExists: boolean, actions: CleanupAction[]): CleanupState {
	const { pidFile, redis } = found;
	const held =
		pidFile.state === 'held' ||
		pidFile.state === 'unreadable' ||
		(pidFile.state === 'stale' && (claimExists || owedAfter(pidFile) !== undefined)) ||
		lockHolders(found.holders).length > 0 ||
		(redis !== undefined && redis.state !== 'free');
	if (held) return 'held';
	return actions.some((action) => action.done) ? 'recovered' : 'clean';
}

export function reportOf(
	databasePath: string,
	found: Inspection,
	actions: CleanupAction[],
	walRecovery?: WalRecovery,
): CleanupReport {
	const claimExists = existsSync(`${pidFilePathFor(databasePath)}.recover`);
	const remaining = remainingLines(databasePath, found, claimExists);
	const state = cleanupState(found, claimExists, actions);
	const db = basename(databasePath);
	const done = actions.filter((action) => action.done);
	const summary =
		state === 'held'
			? `Held: ${db}: ${remaining[0] ?? 'still held'}${done.length ? ` (done: ${done.map((action) => action.action.replace(/-/g, ' ')).join(', ')})` : ''}`
			: state === 'recovered'
				? `Recovered: ${db}: ${done.map((action) => action.detail).join('; ')}`
				: `Clean: ${db}: nothing holds it${remaining.length ? `; ${remaining.join('; ')}` : ''}`;
	const { pidFile, redis, holders, wal } = found;
	return {
		state,
		summary,
		database: databasePath,
		backend: redis ? 'redis' : 'file',
		pidFile,
		redis,
		holders,
		wal,
		actions,
		remaining,
		walRecovery,
		...(owedAfter(pidFile) ? { afterPending: owedAfter(pidFile) } : {}),
	};
}
