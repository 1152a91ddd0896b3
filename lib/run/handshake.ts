/**
 * The handshake of one run with the programs sharing the database: the Afters owed by earlier runs whose stale locks
 * this run took over (their supervisors died after telling the programs to let go), this run's Before, and its
 * After, which runs on every path once Before was attempted. From then until After is done the lock records that an
 * After is pending, so that whoever clears the lock after a crash does it.
 */
import { messageOf } from '../base/errors';
import type { PendingAfter } from '../lock/pid-file-format';
import type { HookReport } from '../outcome/outcome';
import type { RunContext } from './context';
import type { RunHooks } from './events';
import type { HeldRunLock } from './held-lock';
import { pendingAfter, runHook, type HookPhase, type HookSpec } from './hooks';

/**
 * Why the run may not go on after the Afters owed and its Before: Blocked (a hook failed), Failed (lock lost) or
 * Canceled (Stop, or a signal, while the Before ran).
 */
export type BeforeRefusal = { status: 'blocked' | 'failed' | 'canceled'; error: string };

export class Handshake {
	readonly reports: HookReport[] = [];
	/** The After this run (or a run whose lock it took over) still owes; recorded in the lock until done. */
	private owed?: PendingAfter;
	/** Before was attempted, so this run's After is owed (once). */
	private afterDue = false;

	constructor(
		private readonly run: RunContext,
		private readonly held: HeldRunLock,
		private readonly hooks: RunHooks,
	) {
		// acquireLock carried the After a stale lock's run owed into our record: owed until payDebts does it.
		this.owed = held.lock.owedAfter;
	}

	/** The After still owed when the run ends: the release leaves the lock recording it. */
	get owes(): PendingAfter | undefined {
		return this.owed;
	}

	private async call(
		spec: HookSpec,
		phase: HookPhase,
		outcome?: { status?: string },
		pendingFrom?: number,
	): Promise<HookReport> {
		const report = await runHook(spec, phase, {
			databasePath: this.run.resolved.databasePath,
			outcome,
			status: outcome?.status,
			timeoutMs: this.run.resolved.hookTimeoutMs,
			cwd: this.run.resolved.cwd,
			// A Before gives way to a cancel; an After is owed whatever happened, so only its own timeout bounds it.
			signal: phase === 'before' ? this.run.options.signal : undefined,
		});
		const entry = pendingFrom === undefined ? report : { ...report, pendingFrom };
		this.reports.push(entry);
		this.hooks.onEvent?.({ type: 'hook', report: entry });
		return entry;
	}

	/** Records (or clears) the owed After in our lock; a lock no longer ours is the refusal. */
	private mark(pending: PendingAfter | undefined): BeforeRefusal | undefined {
		try {
			this.held.lock.markAfterPending(pending);
			this.owed = pending;
			return undefined;
		} catch (error) {
			return {
				status: 'failed',
				error: `the lock was lost before the job started (${messageOf(error)}); nothing was run`,
			};
		}
	}

	/**
	 * The Afters the runs whose stale locks were taken over still owed: done first, with this run's After hook. One
	 * that fails stays owed (the lock keeps it) and the run does not go on.
	 */
	async payDebts(): Promise<BeforeRefusal | undefined> {
		const after = this.run.options.handshake?.after;
		if (!after || !this.owed) return undefined;
		for (const recovered of this.held.recovered) {
			if (!recovered.afterPending) continue;
			const report = await this.call(after, 'after', { status: 'recovered', ...recovered }, recovered.pid);
			if (!report.ok)
				return {
					status: 'blocked',
					error: `the After hook PID ${recovered.pid} owed (${recovered.afterPending.target}) failed: ${report.error}; it stays owed, nothing was started`,
				};
		}
		return this.mark(undefined);
	}

	/** Runs the Before hook (recording first that an After is owed); why the run may not go on, or undefined. */
	async before(): Promise<BeforeRefusal | undefined> {
		const { before, after } = this.run.options.handshake ?? {};
		if (after) {
			const lost = this.mark(pendingAfter(after));
			if (lost) return lost;
			this.afterDue = true;
		}
		if (!before) return undefined;
		const report = await this.call(before, 'before');
		if (report.ok) return undefined;
		if (this.run.options.signal?.aborted)
			return { status: 'canceled', error: `canceled during the Before hook ${report.target}; nothing was started` };
		return {
			status: 'blocked',
			error: `the Before hook ${report.target} failed: ${report.error}; nothing was started`,
		};
	}

	/** The After hook, with the outcome so far; a failure is in the reports (and the summary) and stays owed. */
	async after(outcome: { status: string }): Promise<void> {
		const after = this.run.options.handshake?.after;
		if (!after || !this.afterDue) return;
		this.afterDue = false;
		const report = await this.call(after, 'after', outcome);
		if (!report.ok) return;
		try {
			this.held.lock.markAfterPending(undefined);
		} catch {
			// The lock is no longer ours (lost): nothing to clear; the release says so.
		}
		this.owed = undefined;
	}
}
