/**
 * The one way processes are stopped, for runs and for the cleanup, as systemd and n8n's Execute Command node do it:
 * SIGTERM, a grace period, SIGKILL to whatever is left, then a bounded wait for it to be gone. A target is a process
 * group (a job: every process it started) or one process; either is signalled only while it is provably still the
 * one meant (the leader's or the process's start time), and `maySignal` may refuse a signal right before it is sent
 * (the cleanup's proof that the target still holds the database).
 */
import { groupAlive, signalGroup, type GroupIdentity } from './group';
import { readProcess } from './identity';

export const STOP_DEFAULTS = {
	/** How often a stop looks whether the target is gone (each look scans /proc for a group). */
	pollMs: 10,
	/** How long after SIGKILL a stop waits: processes in uninterruptible sleep can outlive it for a while. */
	killWaitMs: 5000,
};

/** One process, by its identity (a PID and the start time seen when it was chosen). */
export interface ProcessIdentity {
	pid: number;
	startTicks: number;
}

export type StopTarget = { group: GroupIdentity } | { process: ProcessIdentity };

export interface StopOptions {
	graceMs: number;
	/** Asked right before each signal: false leaves it unsent (and, for SIGKILL, the target running). */
	maySignal?: (signal: NodeJS.Signals) => boolean;
}

export interface StopReport {
	/** ISO time the stop began (SIGTERM was sent, or refused). */
	sigtermAt: string;
	sigtermSent: boolean;
	/** True when the grace period ran out and SIGKILL was sent. */
	sigkillSent: boolean;
	/** Gone at the end; when, in milliseconds after SIGTERM. */
	gone: boolean;
	goneAfterMs?: number;
	/** A signal `maySignal` refused. */
	refused?: NodeJS.Signals;
	/** A signal the OS refused (EPERM: another user's process). */
	notPermitted?: NodeJS.Signals;
}

/** True while the process is the one meant and not a zombie. */
export function isSameProcess(target: ProcessIdentity): boolean {
	const now = readProcess(target.pid, { details: false });
	return Boolean(now && now.state !== 'Z' && now.state !== 'X' && now.startTicks === target.startTicks);
}

/** Signals one process after re-checking that it is still the one meant. EPERM is thrown; a vanished one is false. */
export function signalProcess(target: ProcessIdentity, signal: NodeJS.Signals): boolean {
	if (target.pid <= 1 || !isSameProcess(target)) return false;
	try {
		process.kill(target.pid, signal);
		return true;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
		throw error;
	}
}

export function targetAlive(target: StopTarget): boolean {
	return 'group' in target ? groupAlive(target.group.pgid) : isSameProcess(target.process);
}

function send(target: StopTarget, signal: NodeJS.Signals, report: StopReport): boolean {
	try {
		return 'group' in target ? signalGroup(target.group, signal) : signalProcess(target.process, signal);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
		report.notPermitted = signal;
		return false;
	}
}

/** SIGTERM now, SIGKILL after the grace if anything is left; `done` resolves once it is gone (or given up on). */
export function stopTarget(
	target: StopTarget,
	options: StopOptions,
): { report: StopReport; done: Promise<StopReport> } {
	const started = Date.now();
	const may = (signal: NodeJS.Signals): boolean => options.maySignal?.(signal) ?? true;
	const report: StopReport = {
		sigtermAt: new Date(started).toISOString(),
		sigtermSent: false,
		sigkillSent: false,
		gone: false,
	};
	if (may('SIGTERM')) report.sigtermSent = send(target, 'SIGTERM', report);
	else report.refused = 'SIGTERM';
	const done = new Promise<StopReport>((resolve) => {
		if (report.refused || report.notPermitted) return resolve(report);
		let killedAt = 0;
		const check = (): void => {
			const now = Date.now();
			if (!targetAlive(target)) {
				Object.assign(report, { gone: true, goneAfterMs: now - started });
				return resolve(report);
			}
			// Once: a SIGKILL that found nothing to signal must not restart the wait below at every check.
			if (!killedAt && now - started >= options.graceMs) {
				if (!may('SIGKILL')) return resolve(Object.assign(report, { refused: 'SIGKILL' as const }));
				report.sigkillSent = send(target, 'SIGKILL', report);
				if (report.notPermitted) return resolve(report);
				killedAt = now;
			}
			if (killedAt && now - killedAt > STOP_DEFAULTS.killWaitMs) return resolve(report);
			// During the grace, wake up for its end; after SIGKILL, poll at the normal rate.
			setTimeout(
				check,
				killedAt ? STOP_DEFAULTS.pollMs : Math.min(STOP_DEFAULTS.pollMs, Math.max(1, started + options.graceMs - now)),
			);
		};
		setTimeout(check, Math.min(STOP_DEFAULTS.pollMs, options.graceMs));
	});
	return { report, done };
}

/** Why a run stopped its job. */
export interface Termination {
	reason: 'timeout' | 'canceled' | 'supervisor-signal' | 'stray-processes' | 'lock-lost';
	/** ISO time SIGTERM was sent. */
	sigtermAt: string;
	/** True when the grace period ran out and SIGKILL had to be sent. */
	sigkillSent: boolean;
	/** Milliseconds from SIGTERM until no process of the group was left. */
	groupGoneAfterMs?: number;
}

/** A run stopping its own job group: the stop above, reported as the outcome's termination. */
export function stopGroup(
	group: GroupIdentity,
	graceMs: number,
	reason: Termination['reason'],
): { termination: Termination; done: Promise<Termination> } {
	const stop = stopTarget({ group }, { graceMs });
	const termination: Termination = { reason, sigtermAt: stop.report.sigtermAt, sigkillSent: false };
	const done = stop.done.then((report) =>
		Object.assign(termination, {
			sigkillSent: report.sigkillSent,
			...(report.gone ? { groupGoneAfterMs: report.goneAfterMs } : {}),
		}),
	);
	return { termination, done };
}
