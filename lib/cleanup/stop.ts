/**
 * Stopping a holder the cleanup decided to stop: SIGTERM (to the process group when it is our job, else to the
 * process), a grace period, SIGKILL, re-checking the process's start time right before each signal so that a reused
 * PID is never hit. PID 1, this process and its parent are never signalled.
 */
import { sleep } from '../duration';
import { groupAlive, signalGroup } from '../proc/group';
import { procAvailable, readProcess } from '../proc/identity';

export interface StopTarget {
	pid: number;
	/** Start time seen when the decision was made: the identity every signal is checked against. */
	startTicks?: number;
	/** Signal the whole process group led by `pid` (our own jobs). */
	group: boolean;
}

export interface StopResult {
	stopped: boolean;
	sigkillSent: boolean;
	detail: string;
}

function sameProcess(target: StopTarget): boolean {
	const now = readProcess(target.pid, { details: false });
	return Boolean(now && now.state !== 'Z' && (target.startTicks === undefined || now.startTicks === target.startTicks));
}

function alive(target: StopTarget): boolean {
	return target.group ? groupAlive(target.pid) : sameProcess(target);
}

function send(target: StopTarget, signal: NodeJS.Signals): boolean {
	if (target.group) return signalGroup({ pgid: target.pid, leaderStartTicks: target.startTicks }, signal);
	if (!sameProcess(target)) return false;
	try {
		process.kill(target.pid, signal);
		return true;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EPERM') throw error;
		// Gone between the check and the signal: nothing left to stop.
		return false;
	}
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
		return { stopped: false, sigkillSent: false, detail: `PID ${target.pid}: without /proc its identity cannot be re-checked right before a signal, so it is not signalled; stop it by hand` };
	}
	try {
		return await signalAndWait(target, graceMs);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
		return { stopped: false, sigkillSent: false, detail: `PID ${target.pid}: not permitted to signal it (EPERM); run the cleanup as that process's user or as root` };
	}
}

async function signalAndWait(target: StopTarget, graceMs: number): Promise<StopResult> {
	if (target.startTicks === undefined) {
		return { stopped: false, sigkillSent: false, detail: `PID ${target.pid}: its start time is unknown, so a reused PID cannot be ruled out; not signalled` };
	}
	if (!sameProcess(target) && !(target.group && groupAlive(target.pid))) {
		return { stopped: true, sigkillSent: false, detail: `PID ${target.pid} had already exited (or its PID now belongs to another process, which was left alone)` };
	}
	send(target, 'SIGTERM');
	const started = Date.now();
	while (alive(target) && Date.now() - started < graceMs) await sleep(20);
	let sigkillSent = false;
	if (alive(target)) {
		sigkillSent = send(target, 'SIGKILL');
		const killed = Date.now();
		while (alive(target) && Date.now() - killed < 5000) await sleep(20);
	}
	const gone = !alive(target);
	const how = sigkillSent ? 'SIGTERM, then SIGKILL after the grace period' : 'SIGTERM';
	return { stopped: gone, sigkillSent, detail: gone ? `stopped ${target.group ? 'process group' : 'PID'} ${target.pid} (${how})` : `PID ${target.pid} survived ${how}` };
}
