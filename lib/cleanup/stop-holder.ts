/**
 * Stopping a holder the cleanup decided to stop, with the one stop loop (proc/stop): SIGTERM (to the process group
 * when it is our job, else to the process), a grace period, SIGKILL. Right before each signal two things are checked again: the process's start time
 * (a reused PID is never hit) and the proof that it holds this database. Everything a lock file says can be forged
 * by whoever can write a file next to the database, so the file alone is never the proof: the process must hold
 * DuckDB's lock on the database (/proc/locks), or, for our job, carry the lock's file and token in its environment
 * (which only its own user can read). PID 1, this process and its parent are never signalled.
 */
import { groupMembers } from '../proc/group';
import { fileLocks } from '../proc/file-holders';
import { procAvailable, readEnvironment } from '../proc/identity';
import { isSameProcess, stopTarget, targetAlive, type StopTarget as Stoppable } from '../proc/stop';
import { JOB_PROOF_ENV } from '../lock/pid-file-format';

/** What must hold right before a signal for the target to be what the cleanup decided to stop. */
export interface HolderProof {
	databasePath: string;
	/** Our job: the lock that names it (its file and token, which the job's environment carries). */
	lock?: { pidFile: string; token: string };
}

export interface StopTarget {
	pid: number;
	/** Start time seen when the decision was made: the identity every signal is checked against. */
	startTicks?: number;
	/** Signal the whole process group led by `pid` (our own jobs). */
	group: boolean;
	proof: HolderProof;
}

export interface StopResult {
	stopped: boolean;
	sigkillSent: boolean;
	detail: string;
}

export type ProofVerdict = { proven: true; by: string } | { proven: false; why: string };

/**
 * Pure: is one of the target's processes proven to hold the database? `lockPids`: PIDs holding a lock on the
 * database file; `environment(pid)`: that process's environment, when readable.
 */
export function judgeProof(
	pids: number[],
	lockPids: number[],
	environment: (pid: number) => Map<string, string> | undefined,
	proof: HolderProof,
): ProofVerdict {
	const locker = pids.find((pid) => lockPids.includes(pid));
	if (locker !== undefined) return { proven: true, by: `PID ${locker} holds DuckDB's lock on the database` };
	const lock = proof.lock;
	if (lock) {
		const carrier = pids.find((pid) => {
			const env = environment(pid);
			return env?.get(JOB_PROOF_ENV.lockFile) === lock.pidFile && env.get(JOB_PROOF_ENV.token) === lock.token;
		});
		if (carrier !== undefined) return { proven: true, by: `PID ${carrier} carries the lock's token` };
	}
	const expected = lock
		? `neither holds DuckDB's lock on ${proof.databasePath} nor carries the token of ${lock.pidFile} in its environment`
		: `does not hold DuckDB's lock on ${proof.databasePath}`;
	return {
		proven: false,
		why: `not proven to be what the lock file names: it ${expected} (a lock file can be forged by anyone who can write to its folder)`,
	};
}

/** The target as the one stop loop knows it: a process group (our job) or one process. */
function stoppable(target: StopTarget & { startTicks: number }): Stoppable {
	return target.group
		? { group: { pgid: target.pid, leaderStartTicks: target.startTicks } }
		: { process: { pid: target.pid, startTicks: target.startTicks } };
}

function proofNow(target: StopTarget & { startTicks: number }): ProofVerdict {
	const pids = target.group
		? groupMembers(target.pid).map((member) => member.pid)
		: isSameProcess({ pid: target.pid, startTicks: target.startTicks })
			? [target.pid]
			: [];
	const lockPids = fileLocks(target.proof.databasePath).flatMap((entry) => (entry.pid === null ? [] : [entry.pid]));
	return judgeProof(pids, lockPids, readEnvironment, target.proof);
}

export function refusalFor(pid: number): string | undefined {
	if (pid <= 1) return `PID ${pid} is init or invalid; never signalled`;
	if (pid === process.pid) return `PID ${pid} is this process; never signalled`;
	if (pid === process.ppid) return `PID ${pid} is this process's parent; never signalled`;
	return undefined;
}

export async function stopHolder(target: StopTarget, graceMs: number): Promise<StopResult> {
	const refusal = refusalFor(target.pid);
	if (refusal) return { stopped: false, sigkillSent: false, detail: refusal };
	if (!procAvailable) {
		return {
			stopped: false,
			sigkillSent: false,
			detail: `PID ${target.pid}: without /proc its identity cannot be re-checked right before a signal, so it is not signalled; stop it by hand`,
		};
	}
	if (target.startTicks === undefined) {
		return {
			stopped: false,
			sigkillSent: false,
			detail: `PID ${target.pid}: its start time is unknown, so a reused PID cannot be ruled out; not signalled`,
		};
	}
	return signalAndWait({ ...target, startTicks: target.startTicks }, graceMs);
}

async function signalAndWait(target: StopTarget & { startTicks: number }, graceMs: number): Promise<StopResult> {
	const what = stoppable(target);
	if (!targetAlive(what)) {
		return {
			stopped: true,
			sigkillSent: false,
			detail: `PID ${target.pid} had already exited (or its PID now belongs to another process, which was left alone)`,
		};
	}
	const proof = proofNow(target);
	if (!proof.proven)
		return { stopped: false, sigkillSent: false, detail: `PID ${target.pid} ${proof.why}; not signalled` };
	// Before SIGKILL the proof is asked again: a holder that let go of the database after SIGTERM is left running.
	const report = await stopTarget(what, {
		graceMs,
		maySignal: (signal) => signal === 'SIGTERM' || proofNow(target).proven,
	}).done;
	if (report.notPermitted)
		return {
			stopped: false,
			sigkillSent: false,
			detail: `PID ${target.pid}: not permitted to signal it (EPERM); run the cleanup as that process's user or as root`,
		};
	if (report.refused === 'SIGKILL')
		return {
			stopped: true,
			sigkillSent: false,
			detail: `PID ${target.pid} let go of the database after SIGTERM and was left running`,
		};
	const how = report.sigkillSent ? 'SIGTERM, then SIGKILL after the grace period' : 'SIGTERM';
	return {
		stopped: report.gone,
		sigkillSent: report.sigkillSent,
		detail: report.gone
			? `stopped ${target.group ? 'process group' : 'PID'} ${target.pid} (${how}; ${proof.by})`
			: `PID ${target.pid} survived ${how}`,
	};
}
