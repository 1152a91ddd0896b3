/**
 * The handshake of one run with the programs sharing the database: the Afters owed by earlier runs whose stale locks
 * this run took over (their supervisors died after telling the programs to let go), this run's Before, and its
 * After, which runs on every path once Before was attempted. From then until After is done the lock records that an
 * After is pending, so that whoever clears the lock after a crash does it.
 */
import type { HookReport } from '../outcome/outcome';
import type { RunContext } from './context';
import type { RunHooks } from './events';
import type { HeldRunLock } from './held-lock';
import { pendingAfter, runHook, type HookPhase, type HookSpec } from './hooks';

export class Handshake {
	readonly reports: HookReport[] = [];
	private owesAfter = false;

	constructor(
		private readonly run: RunContext,
		private readonly held: HeldRunLock,
		private readonly hooks: RunHooks,
	) {}

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
			// A Before gives way to a cancel; an After is owed whatever happened, so only its own timeout bounds it.
			signal: phase === 'before' ? this.run.options.signal : undefined,
		});
		const entry = pendingFrom === undefined ? report : { ...report, pendingFrom };
		this.reports.push(entry);
		this.hooks.onEvent?.({ type: 'hook', report: entry });
		return entry;
	}

	/** The Afters the runs whose stale locks were taken over still owed: done first, with this run's After hook. */
	async payDebts(): Promise<void> {
		const after = this.run.options.handshake?.after;
		if (!after) return;
		for (const recovered of this.held.recovered) {
			if (recovered.afterPending) await this.call(after, 'after', { status: 'recovered', ...recovered }, recovered.pid);
		}
	}

	/** Runs the Before hook (recording first that an After is owed); the failure's reason, or undefined to go on. */
	async before(): Promise<string | undefined> {
		const { before, after } = this.run.options.handshake ?? {};
		if (after) {
			this.held.lock.markAfterPending(pendingAfter(after));
			this.owesAfter = true;
		}
		if (!before) return undefined;
		const report = await this.call(before, 'before');
		return report.ok ? undefined : `the Before hook ${report.target} failed: ${report.error}`;
	}

	/** The After hook, with the outcome so far; a failure is in the reports (and the summary), never thrown. */
	async after(outcome: { status: string }): Promise<void> {
		const after = this.run.options.handshake?.after;
		if (!after || !this.owesAfter) return;
		const report = await this.call(after, 'after', outcome);
		if (!report.ok) return;
		try {
			this.held.lock.markAfterPending(undefined);
		} catch {
			// The lock is no longer ours (lost): nothing to clear; the release says so.
		}
		this.owesAfter = false;
	}
}
