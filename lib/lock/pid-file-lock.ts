/**
 * The database lock: a PID file next to the database, taken atomically, recovered safely when stale (stale-removal),
 * released only by its owner (held-pid-file).
 */
import { dirname } from 'node:path';
import { UsageError } from '../base/errors';
import { HeldLock } from './held-pid-file';
import { judge, type JudgeContext, type LockInspection, type PreviousHolder } from './judge-pid-file';
import { pidFilePathFor, serializeRecord, type PendingAfter } from './pid-file-format';
import { createExclusive, newToken, readPidFileSettled, type FileStamp } from './pid-file-io';
import { removeStale, type RecoveredLock } from './stale-removal';
import { supervisorRecord, type RecordOptions } from './supervisor-record';
import { waitForLock, type Attempt } from './wait';

export const LOCK_DEFAULTS = {
	/** How long an acquirer without a wait gives another process to finish recovering a stale lock. */
	recoveryPatienceMs: 2000,
};

export interface AcquireOptions extends RecordOptions {
	/** This run has an After hook: it may clear a stale lock whose run owes one (and then does that After). */
	performsAfter?: boolean;
	/** Who holds the lock, for people and the cleanup tools (e.g. the n8n workflow and execution). */
	owner?: string;
	/** What the supervisor is about to run, written until the job itself is recorded. */
	command?: string;
	/** How long to wait for a held lock; 0 fails at once (like `flock -n`). */
	waitMs?: number;
	pollMs?: number;
	signal?: AbortSignal;
	/** The Redis lock's token, reused for the file so that both say who holds them. */
	token?: string;
}

export type AcquireResult =
	| { acquired: true; lock: HeldLock; recovered: RecoveredLock[]; waitedMs: number }
	| {
			acquired: false;
			reason: 'held';
			inspection: LockInspection & { state: 'held' | 'unreadable' };
			recovered: RecoveredLock[];
			waitedMs: number;
	  }
	| { acquired: false; reason: 'canceled'; recovered: RecoveredLock[]; waitedMs: number }
	/**
	 * A stale lock whose run owes an After hook (it told the programs sharing the database to let go, then died):
	 * only a run that can do that After (`performsAfter`) may clear it; others are blocked and say which After is owed.
	 */
	| {
			acquired: false;
			reason: 'after-pending';
			pending: PendingAfter;
			previous: PreviousHolder;
			recovered: RecoveredLock[];
			waitedMs: number;
	  };

function explainFsError(error: unknown, pidFile: string): never {
	const code = (error as NodeJS.ErrnoException).code;
	const folder = dirname(pidFile);
	if (code === 'ENOENT')
		throw new UsageError(`The database folder ${folder} does not exist. Create it, or fix the database path.`);
	if (code === 'ENOTDIR') throw new UsageError(`${folder} is not a folder. Fix the database path.`);
	if (code === 'ENAMETOOLONG')
		throw new UsageError(
			`The lock file name ${pidFile.slice(0, 80)}… is too long for the file system. Give the database a shorter name.`,
		);
	if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
		throw new UsageError(`Cannot create the lock file ${pidFile} (${code}). Give this user write access to ${folder}.`);
	}
	throw error;
}

/** Takes the lock of a database, recovering a stale one, optionally waiting for a held one. */
export async function acquireLock(databasePath: string, options: AcquireOptions = {}): Promise<AcquireResult> {
	const pidFile = pidFilePathFor(databasePath);
	const recovered: RecoveredLock[] = [];
	const token = options.token ?? newToken();
	let record = supervisorRecord(token, options.owner ?? '', options.command, options);
	let content = serializeRecord(record);
	// Holding the Redis key (the caller took it first), every other Redis holder's file is stale.
	const context: JudgeContext = {
		databasePath,
		staleAfterMs: options.staleAfterMs,
		mask: options.mask,
		redis: options.redisKey ? { key: options.redisKey, currentToken: async () => token } : undefined,
	};
	const attempt = async (waited: () => number): Promise<Attempt<AcquireResult>> => {
		let stamp: FileStamp | undefined;
		try {
			stamp = createExclusive(pidFile, content);
		} catch (error) {
			explainFsError(error, pidFile);
		}
		if (stamp)
			return { result: { acquired: true, lock: new HeldLock(pidFile, record, stamp), recovered, waitedMs: waited() } };
		const current = await readPidFileSettled(pidFile);
		if (current.kind === 'absent') return { retry: 'now' };
		const { verdict, previous } = await judge(current, context);
		const pending = previous?.kind === 'record' ? previous.record.afterPending : undefined;
		if (verdict.state === 'stale' && pending && previous && !options.performsAfter) {
			return { held: { acquired: false, reason: 'after-pending', pending, previous, recovered, waitedMs: waited() } };
		}
		if (verdict.state === 'stale' && current.kind === 'file') {
			const removal = await removeStale(pidFile, current, 0, context);
			if (removal === 'removed' && previous)
				recovered.push({ reason: verdict.reason, detail: verdict.detail, previous });
			// The After that run owed stays owed in our record until this run has done it (Handshake.payDebts).
			if (removal === 'removed' && pending && !record.afterPending) {
				record = { ...record, afterPending: pending };
				content = serializeRecord(record);
			}
			if (removal !== 'busy') return { retry: 'now' };
			// Another process is recovering it; that takes milliseconds, so look again soon even without a wait.
			if (waited() < Math.max(options.waitMs ?? 0, LOCK_DEFAULTS.recoveryPatienceMs)) return { retry: 'after', ms: 5 };
			const reason = `the stale lock is being recovered by another process, or its recovery claim ${pidFile}.recover is stuck; run duckdb-lock-cleanup`;
			return {
				result: {
					acquired: false,
					reason: 'held',
					inspection: { pidFile, previous, state: 'unreadable', reason },
					recovered,
					waitedMs: waited(),
				},
			};
		}
		if (verdict.state === 'stale') return { retry: 'now' };
		return {
			held: {
				acquired: false,
				reason: 'held',
				inspection: { pidFile, previous, ...verdict },
				recovered,
				waitedMs: waited(),
			},
		};
	};
	return waitForLock(options, (waitedMs) => ({ acquired: false, reason: 'canceled', recovered, waitedMs }), attempt);
}
