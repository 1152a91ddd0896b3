/**
 * What a held database lock can do, whichever backend decides, and the local-file one: the PID file and its lease.
 */
import type { AcquireResult } from './pid-file-lock';
import { messageOf } from '../base/errors';
import { type RecoveredLock } from './stale-removal';
import { type HeldLock, type JobIdentity, type ReleaseResult } from './held-pid-file';
import type { PendingAfter } from './pid-file-format';

export type RenewResult = { ok: true } | { ok: false; lost: boolean; detail: string };

export interface DatabaseLock {
	readonly pidFile: string;
	/** The token written into the lock; the job gets it in its environment (JOB_PROOF_ENV) as proof of who it is. */
	readonly token: string;
	readonly heartbeatMs: number;
	readonly staleAfterMs: number;
	/** The After hook a stale lock's run owed, carried into this lock when it was taken over (until it is done). */
	readonly owedAfter: PendingAfter | undefined;
	recordJob(job: JobIdentity): Promise<void>;
	/** Records (or clears) the After hook the run owes, in the PID file. */
	markAfterPending(pending: PendingAfter | undefined): void;
	/** Refreshes the lease. `lost`: someone else owns the lock now (or it expired): the job must not go on. */
	renew(): Promise<RenewResult>;
	release(): Promise<ReleaseResult>;
	/** Releases the lock but leaves the file recording the After hook still owed (HeldLock.releaseOwing). */
	releaseOwing(pending: PendingAfter): Promise<ReleaseResult>;
	/** Last resort from an exit hook: the file part only (a Redis lease then runs out by itself). */
	releaseSync(): void;
	/** Keeps the lock (processes survived SIGKILL) but frees our resources: a Redis lease then runs out by itself. */
	abandon(): void;
}

/** Marks the file as left to the job's group; an I/O error leaves it as it was (we then still count as its holder). */
export function abandonQuietly(held: HeldLock): void {
	try {
		held.abandon();
	} catch {
		// Called while stopping; the unmarked file is merely held longer (until we exit), never lost.
	}
}

export type TakeResult =
	| { acquired: true; lock: DatabaseLock; recovered: RecoveredLock[]; waitedMs: number }
	| Exclude<AcquireResult, { acquired: true }>
	/** The backend cannot be asked (Redis unreachable): never run unprotected. */
	| { acquired: false; reason: 'unavailable'; detail: string; recovered: RecoveredLock[]; waitedMs: number };

/**
 * A lease counts as lost before it can expire: once renewals have failed for all but two heartbeats of the stale
 * period (measured on the monotonic clock, from when the last successful renewal was sent), so that the job is
 * stopped (SIGKILL, no grace) before anyone else may take the lock.
 */
export function lostBy(silentMs: number, staleAfterMs: number, heartbeatMs: number): boolean {
	return silentMs >= staleAfterMs - 2 * heartbeatMs;
}

export class FileLock implements DatabaseLock {
	/** performance.now() when the last renewal that succeeded was started. */
	protected lastRenewed = performance.now();

	constructor(
		protected readonly held: HeldLock,
		readonly heartbeatMs: number,
		readonly staleAfterMs: number,
	) {}

	get pidFile(): string {
		return this.held.pidFile;
	}

	get token(): string {
		return this.held.token;
	}

	get owedAfter(): PendingAfter | undefined {
		return this.held.record.afterPending;
	}

	markAfterPending(pending: PendingAfter | undefined): void {
		this.held.markAfterPending(pending);
	}

	async recordJob(job: JobIdentity): Promise<void> {
		this.held.recordJob(job);
	}

	/** The file part of a renewal: false when the file is no longer ours; an I/O error is a failure, not a loss. */
	protected renewFile(): RenewResult {
		const sentAt = performance.now();
		try {
			if (!this.held.heartbeat())
				return {
					ok: false,
					lost: true,
					detail: `${this.pidFile} is no longer ours (removed or replaced by another process that judged it stale)`,
				};
		} catch (error) {
			const silentMs = performance.now() - this.lastRenewed;
			return {
				ok: false,
				lost: lostBy(silentMs, this.staleAfterMs, this.heartbeatMs),
				detail: `the heartbeat of ${this.pidFile} failed: ${messageOf(error)}`,
			};
		}
		this.lastRenewed = sentAt;
		return { ok: true };
	}

	async renew(): Promise<RenewResult> {
		return this.renewFile();
	}

	async release(): Promise<ReleaseResult> {
		return this.held.release();
	}

	async releaseOwing(pending: PendingAfter): Promise<ReleaseResult> {
		return this.held.releaseOwing(pending);
	}

	releaseSync(): void {
		this.held.release();
	}

	abandon(): void {
		// The file stays, naming the processes that survived; it is stale (cleanup removes it) once they are gone.
		abandonQuietly(this.held);
	}
}
