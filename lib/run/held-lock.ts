/**
 * The lock phases of a run: taking it (the wait included), keeping it while the run uses it (the lease, renewed from
 * the supervisor whatever the job is busy with, and the exit hook that never leaves a job without its lock), and
 * releasing it, or leaving it to a job group that survived SIGKILL.
 */
import type { DatabaseLock, TakeResult } from '../lock/database-lock';
import type { PendingAfter } from '../lock/pid-file-format';
import { keepLease, type LeaseKeeper } from '../lock/lease';
import { takeDatabaseLock } from '../lock/take-lock';
import { groupAlive, type GroupIdentity } from '../proc/group';
import { stopGroup } from '../proc/stop';
import type { Outcome, RecoveredLockReport } from '../outcome/outcome';
import { recoveredReport } from '../outcome/holder-reports';
import type { RunContext } from './context';
import { trackRun } from './exit-guard';

export function takeLock(run: RunContext): Promise<TakeResult> {
	const { resolved, options } = run;
	return takeDatabaseLock(resolved.databasePath, {
		owner: options.owner,
		command: run.recordedCommand,
		waitMs: resolved.waitMs,
		signal: options.signal,
		heartbeatMs: resolved.heartbeatMs,
		staleAfterMs: resolved.staleAfterMs,
		redis: options.redis,
		mask: run.mask,
		performsAfter: Boolean(options.handshake?.after),
	});
}

/** A lock the run holds. Losing it calls the listener set last (the job's stop), once. */
export class HeldRunLock {
	readonly lease: LeaseKeeper;
	readonly recovered: RecoveredLockReport[];
	/** The job's group once it runs: stopped by the exit hook and before release, whatever happened. */
	private readonly active: { lock: DatabaseLock; group?: GroupIdentity };
	private readonly untrack: () => void;
	private lostListener: () => void = () => undefined;

	constructor(
		private readonly run: RunContext,
		readonly lock: DatabaseLock,
		private readonly taken: Extract<TakeResult, { acquired: true }>,
	) {
		this.recovered = taken.recovered.map(recoveredReport);
		this.active = { lock };
		// Losing the lease stops the job at once (SIGKILL, no grace): before it can run out, so two writers never run.
		this.lease = keepLease(lock, () => this.lostListener());
		this.untrack = trackRun(this.active);
	}

	/** When the lock wait ends (Date.now() ms), once the wait for DuckDB's lock began. */
	waitUntilMs = 0;

	/** How long the wait for DuckDB's own lock took (others held it: readers, a foreign writer). */
	databaseWaitedMs = 0;

	/** How long taking the lock waited. */
	get waitedMs(): number {
		return this.taken.waitedMs;
	}

	/** Why the lock was lost, once it was. */
	get lost(): string | undefined {
		return this.lease.report.lost;
	}

	/** Called when the lock is lost; at once when it already is. */
	onLost(listener: () => void): void {
		this.lostListener = listener;
		if (this.lost) listener();
	}

	watchGroup(group: GroupIdentity): void {
		this.active.group = group;
	}

	report(): Outcome['lock'] {
		const { pidFile, backend } = this.run;
		return {
			pidFile,
			...backend,
			acquired: true,
			waitedMs: this.taken.waitedMs,
			...(this.databaseWaitedMs ? { databaseWaitedMs: this.databaseWaitedMs } : {}),
			recovered: this.recovered,
			released: false,
			lease: this.lease.report,
		};
	}

	/** Whatever happened (a bug of ours included), nothing of the job's group runs on: stopped at once. */
	async stopLeftovers(): Promise<void> {
		const group = this.active.group;
		if (group && groupAlive(group.pgid)) await stopGroup(group, 0, 'lock-lost').done;
	}

	/** Never leaves the job running without its lock; keeps the lock only for processes that survive SIGKILL. */
	async release(owing?: PendingAfter): Promise<{ released: boolean; note?: string }> {
		await this.stopLeftovers();
		this.lease.stop();
		const group = this.active.group;
		const survivors = group !== undefined && groupAlive(group.pgid);
		this.untrack();
		if (survivors) {
			// They may still write: the lock stays, naming their group.
			this.lock.abandon();
			const redis = this.run.options.redis ? '; the Redis lease runs out by itself' : '';
			return {
				released: false,
				note: `process group ${group?.pgid} survived SIGKILL; the PID file is kept until it is gone (duckdb-lock-cleanup removes it then)${redis}`,
			};
		}
		if (owing) {
			const kept = await this.lock.releaseOwing(owing);
			return kept.released
				? {
						released: true,
						note: `the PID file stays, recording the After hook still owed (${owing.target}): the next run with an After hook, or duckdb-lock-cleanup --after-request/--after-command (--after-done once done by hand), does it`,
					}
				: { released: false, note: kept.detail };
		}
		const release = await this.lock.release();
		return release.released ? { released: true } : { released: false, note: release.detail };
	}
}
