/**
 * Process groups: is anyone of a group still alive, who, and signalling a whole group only while it is provably
 * still the group we started.
 */
import { readdirSync } from 'node:fs';
import { procAvailable, readProcess, type ProcessFacts } from './identity';

/**
 * True while at least one living process is in the group. `kill(-pgid, 0)` answers on every POSIX OS; on Linux a
 * group made only of zombies (which a container without an init may never reap) counts as gone.
 */
export function groupAlive(pgid: number): boolean {
	// 0 and 1 are no job's group (kill(-1) would ask about every process); only a garbage record names them.
	if (pgid <= 1) return false;
	try {
		process.kill(-pgid, 0);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
	}
	return procAvailable ? groupMembers(pgid).length > 0 : true;
}

/** Living (non-zombie) members of a process group, from /proc. Empty where /proc is absent. */
export function groupMembers(pgid: number): ProcessFacts[] {
	if (!procAvailable) return [];
	const members: ProcessFacts[] = [];
	for (const name of readdirSync('/proc')) {
		const pid = Number(name);
		if (!Number.isSafeInteger(pid) || pid <= 0) continue;
		const facts = readProcess(pid, { details: false });
		if (facts && facts.pgid === pgid && facts.state !== 'Z' && facts.state !== 'X') members.push(facts);
	}
	return members;
}

export interface GroupIdentity {
	pgid: number;
	/** Start time of the group leader when we started it; the group is ours only while this still matches. */
	leaderStartTicks?: number;
}

/**
 * Signals every process of the group, after re-checking right before that the group is still ours: if a process
 * now leads a group with that id but started at another time, the id was reused and nothing is sent.
 * Returns false when nothing was signalled (group gone, or not ours any more).
 */
export function signalGroup(group: GroupIdentity, signal: NodeJS.Signals): boolean {
	// Never init's group, nor our own (a job always gets a group of its own, so ours is never a job's).
	if (
		group.pgid <= 1 ||
		group.pgid === process.pid ||
		group.pgid === readProcess(process.pid, { details: false })?.pgid
	)
		return false;
	if (procAvailable && group.leaderStartTicks !== undefined) {
		const leader = readProcess(group.pgid, { details: false });
		if (leader && leader.pgid === group.pgid && leader.startTicks !== group.leaderStartTicks) return false;
	}
	try {
		process.kill(-group.pgid, signal);
		return true;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
		throw error;
	}
}
