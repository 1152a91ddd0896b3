/**
 * Deciding what to stop: our job as the PID file names it (its whole group, never the supervisor, which may be n8n
 * itself), and, per policy, other holders of DuckDB's lock. Each candidate carries the proof that must still hold
 * right before any signal.
 */
import { formatDuration } from '../base/duration';

import { readProcess } from '../proc/identity';
import type { Inspection } from './inspect';
import type { CleanupPolicy, StopCandidate } from './policy';
import type { StopTarget } from './stop-holder';
import { type LockInspection } from '../lock/judge-pid-file';

/** What a process really runs (from /proc), with what the lock file claims beside it when that differs. */
function realCommand(pid: number, claimed: string): string {
	const actual = readProcess(pid)?.command;
	if (!actual || actual === claimed) return claimed;
	return `${actual}; the lock file says "${claimed.length > 80 ? `${claimed.slice(0, 77)}...` : claimed}"`;
}

/** Our job as the PID file names it: stoppable as a whole process group, once proven to be that job. */
function pidFileJob(databasePath: string, pidFile: LockInspection): (StopCandidate & StopTarget) | undefined {
	if (pidFile.state !== 'held' || pidFile.remote || pidFile.holder.role === 'legacy' || !pidFile.holder.identityProven)
		return undefined;
	const record = pidFile.previous?.kind === 'record' ? pidFile.previous.record : undefined;
	if (!record || record.role !== 'job' || pidFile.holder.role !== 'job') return undefined;
	return {
		pid: record.pid,
		startTicks: record.pidStart,
		group: true,
		command: realCommand(record.pid, record.command),
		elapsedSeconds: pidFile.holder.elapsedSeconds,
		ours: true,
		why: 'our job (named by the PID file)',
		proof: { databasePath, lock: { pidFile: pidFile.pidFile, token: record.token } },
	};
}

/** Who to stop, in order, given what was found and the policy. */
export function candidates(
	databasePath: string,
	found: Inspection,
	policy: CleanupPolicy,
): Array<StopCandidate & StopTarget> {
	const list: Array<StopCandidate & StopTarget> = [];
	const job = pidFileJob(databasePath, found.pidFile);
	const stuck = (elapsedSeconds: number | undefined): boolean =>
		policy.stopStuckAfterMs !== undefined && (elapsedSeconds ?? 0) * 1000 >= policy.stopStuckAfterMs;
	if (job && (policy.stopAllHolders || stuck(job.elapsedSeconds))) list.push(job);
	for (const holder of found.holders) {
		if (holder.pid === null || holder.lock === 'open') continue;
		if (list.some((entry) => entry.pid === holder.pid) || (job && holder.ours)) continue;
		const eligible = policy.stopAllHolders || (holder.ours && stuck(holder.elapsedSeconds));
		if (eligible)
			list.push({
				pid: holder.pid,
				startTicks: holder.startTicks,
				group: false,
				command: holder.command,
				elapsedSeconds: holder.elapsedSeconds,
				ours: holder.ours,
				why: `holds DuckDB's ${holder.lock} lock`,
				proof: { databasePath },
			});
	}
	return list;
}

export function describeCandidate(candidate: StopCandidate): string {
	const running =
		candidate.elapsedSeconds !== undefined ? `, running ${formatDuration(candidate.elapsedSeconds * 1000)}` : '';
	return `process ${candidate.pid} (${candidate.command}${running})`;
}
