/**
 * Is a lock still held? A pure decision over the PID file's content and facts read about processes, so that every
 * case (dead, reused PID, zombie, reboot, other host, legacy file) is testable without I/O.
 */
import type { LookedUpProcess } from '../proc/lookup';
import type { LockRecord, ParsedPidFile, ProcessRef } from './record';

export type StaleReason = 'dead' | 'reused-pid' | 'zombie' | 'rebooted';

export interface LockHolder {
	pid: number;
	/** Which process of the record is alive: the job, the supervisor, or a PID from a legacy file. */
	role: 'job' | 'supervisor' | 'legacy';
	host: string;
	command: string;
	state?: string;
	elapsedSeconds?: number;
	/** True when boot id and start time match the record; false for a legacy file (PID reuse cannot be ruled out). */
	identityProven: boolean;
	owner?: string;
	lockedAt?: string;
}

export type LockVerdict =
	| { state: 'held'; holder: LockHolder; remote: false }
	/** Written on another host: never judged by local PID checks. */
	| { state: 'held'; holder: LockHolder; remote: true }
	| { state: 'stale'; reason: StaleReason; detail: string }
	| { state: 'unreadable'; reason: string };

export interface LocalFacts {
	host: string;
	bootId: string;
	/** Facts about a PID, or undefined when no such process exists. */
	process(pid: number): LookedUpProcess | undefined;
	/** Whether any living process is in a process group (the job's children outlive its leader). */
	groupAlive?(pgid: number): boolean;
}

type RefJudgement = { alive: true; facts: LookedUpProcess; proven: boolean } | { alive: false; reason: Exclude<StaleReason, 'rebooted'> };

function judgeProcess(ref: Pick<ProcessRef, 'pid' | 'startTicks'>, facts: LookedUpProcess | undefined): RefJudgement {
	if (!facts) return { alive: false, reason: 'dead' };
	if (facts.state === 'Z' || facts.state === 'X') return { alive: false, reason: 'zombie' };
	if (ref.startTicks !== undefined && facts.startTicks !== undefined) {
		if (ref.startTicks !== facts.startTicks) return { alive: false, reason: 'reused-pid' };
		return { alive: true, facts, proven: true };
	}
	return { alive: true, facts, proven: false };
}

const REASON_TEXT: Record<Exclude<StaleReason, 'rebooted'>, string> = {
	dead: 'no longer exists',
	zombie: 'is a zombie (exited, not yet reaped)',
	'reused-pid': 'now belongs to another process (start time differs: PID reused)',
};

function holderOf(record: LockRecord, role: 'job' | 'supervisor', judgement: RefJudgement & { alive: true }): LockHolder {
	return {
		pid: judgement.facts.pid,
		role,
		host: record.host,
		command: role === 'job' || record.role === 'supervisor' ? record.command : record.supervisor.command,
		state: judgement.facts.state,
		elapsedSeconds: judgement.facts.elapsedSeconds,
		identityProven: judgement.proven,
		owner: record.owner,
		lockedAt: record.lockedAt,
	};
}

function judgeRecord(record: LockRecord, local: LocalFacts): LockVerdict {
	if (record.host !== local.host) {
		return {
			state: 'held',
			remote: true,
			holder: {
				pid: record.pid,
				role: record.role,
				host: record.host,
				command: record.command,
				identityProven: false,
				owner: record.owner,
				lockedAt: record.lockedAt,
			},
		};
	}
	if (record.bootId && local.bootId && record.bootId !== local.bootId) {
		return { state: 'stale', reason: 'rebooted', detail: `the lock was taken before a reboot (boot id ${record.bootId})` };
	}
	const lineOne = judgeProcess({ pid: record.pid, startTicks: record.pidStart }, local.process(record.pid));
	if (lineOne.alive) return { state: 'held', remote: false, holder: holderOf(record, record.role, lineOne) };
	const details = [`${record.role} PID ${record.pid} ${REASON_TEXT[lineOne.reason]}`];
	if (record.role === 'job' && record.supervisor.pid !== record.pid) {
		const supervisor = judgeProcess(record.supervisor, local.process(record.supervisor.pid));
		if (supervisor.alive) return { state: 'held', remote: false, holder: holderOf(record, 'supervisor', supervisor) };
		details.push(`supervisor PID ${record.supervisor.pid} ${REASON_TEXT[supervisor.reason]}`);
		if (record.pgid !== undefined && local.groupAlive?.(record.pgid)) {
			return {
				state: 'held',
				remote: false,
				holder: { pid: record.pgid, role: 'job', host: record.host, command: `${record.command} (processes left in its group ${record.pgid})`, identityProven: false, owner: record.owner, lockedAt: record.lockedAt },
			};
		}
	}
	return { state: 'stale', reason: lineOne.reason, detail: details.join('; ') };
}

export function judgeLock(parsed: ParsedPidFile, local: LocalFacts): LockVerdict {
	if (parsed.kind === 'garbage') return { state: 'unreadable', reason: parsed.reason };
	if (parsed.kind === 'record') return judgeRecord(parsed.record, local);
	const judgement = judgeProcess({ pid: parsed.pid }, local.process(parsed.pid));
	if (!judgement.alive) {
		return { state: 'stale', reason: judgement.reason, detail: `PID ${parsed.pid} (PID-only file) ${REASON_TEXT[judgement.reason]}` };
	}
	return {
		state: 'held',
		remote: false,
		holder: {
			pid: parsed.pid,
			role: 'legacy',
			host: local.host,
			command: judgement.facts.command,
			state: judgement.facts.state,
			elapsedSeconds: judgement.facts.elapsedSeconds,
			identityProven: false,
		},
	};
}
