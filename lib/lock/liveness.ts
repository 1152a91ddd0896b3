/**
 * Is a lock still held? A pure decision over the PID file's content and facts read about processes, so that every
 * case (dead, reused PID, zombie, reboot, other host, other PID namespace, legacy file) is testable without I/O.
 *
 * A holder is checked by PID only when its PIDs mean something here: same kernel (boot id) and same PID namespace.
 * Any other holder (another container, another machine sharing the volume) is judged by its lease: the heartbeat
 * its supervisor keeps writing into the file's modification time. It is stale only when that heartbeat is older than
 * the stale period, and never while the database file is locked on this machine: `databaseLocked` answers from
 * /proc/locks (older kernels list other namespaces' locks without a PID we can map); since /proc/locks of current
 * kernels hides them, lock.ts confirms an expired lease by asking DuckDB itself before calling it stale.
 */
import type { LookedUpProcess } from '../proc/lookup';
import type { LockRecord, ParsedPidFile, ProcessRef } from './pid-file-format';

export type StaleReason = 'dead' | 'reused-pid' | 'zombie' | 'rebooted' | 'lease-expired' | 'released';

export const LEASE_DEFAULTS = {
	/** How often a holder refreshes its heartbeat. */
	heartbeatMs: 10_000,
	/** A holder we cannot check by PID is stale once its heartbeat is older than this (and never below 3 heartbeats). */
	staleAfterMs: 60_000,
};

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
	/** For a holder judged by its lease: how old its heartbeat is, and the stale period applied. */
	heartbeatAgeMs?: number;
	staleAfterMs?: number;
	/** Why it could not be checked by PID, in words (another machine, another PID namespace). */
	where?: string;
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
	/** Our PID namespace (`pid:[4026531836]`); empty where unknown. */
	pidNamespace?: string;
	/** now − the lock file's modification time: the age of the holder's heartbeat. */
	heartbeatAgeMs?: number;
	/** Our stale period for holders judged by lease (default LEASE_DEFAULTS.staleAfterMs). */
	staleAfterMs?: number;
	/** Whether the kernel shows a lock on the database file, in any PID namespace of this machine. */
	databaseLocked?(): boolean;
}

type RefJudgement =
	| { alive: true; facts: LookedUpProcess; proven: boolean }
	| { alive: false; reason: Exclude<StaleReason, 'rebooted' | 'lease-expired' | 'released'> };

function judgeProcess(ref: Pick<ProcessRef, 'pid' | 'startTicks'>, facts: LookedUpProcess | undefined): RefJudgement {
	if (!facts) return { alive: false, reason: 'dead' };
	if (facts.state === 'Z' || facts.state === 'X') return { alive: false, reason: 'zombie' };
	if (ref.startTicks !== undefined && facts.startTicks !== undefined) {
		if (ref.startTicks !== facts.startTicks) return { alive: false, reason: 'reused-pid' };
		return { alive: true, facts, proven: true };
	}
	return { alive: true, facts, proven: false };
}

const REASON_TEXT: Record<Exclude<StaleReason, 'rebooted' | 'lease-expired' | 'released'>, string> = {
	dead: 'no longer exists',
	zombie: 'is a zombie (exited, not yet reaped)',
	'reused-pid': 'now belongs to another process (start time differs: PID reused)',
};

function holderOf(
	record: LockRecord,
	role: 'job' | 'supervisor',
	judgement: RefJudgement & { alive: true },
): LockHolder {
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

/** PIDs in the record mean something here: same kernel and same PID namespace (or, without boot ids, same host). */
export function checkableByPid(
	record: Pick<LockRecord, 'bootId' | 'pidNamespace' | 'host'>,
	local: Pick<LocalFacts, 'host' | 'bootId' | 'pidNamespace'>,
): boolean {
	if (!record.bootId || !local.bootId) return record.host === local.host;
	if (record.bootId !== local.bootId) return false;
	return !record.pidNamespace || !local.pidNamespace || record.pidNamespace === local.pidNamespace;
}

function whereOf(record: LockRecord, local: LocalFacts): string {
	if (record.bootId && record.bootId === local.bootId)
		return `another PID namespace on this machine (host name ${record.host}, ${record.pidNamespace || 'namespace unknown'})`;
	return `host ${record.host}`;
}

function heldRemotely(
	record: LockRecord,
	local: LocalFacts,
	extra: Pick<LockHolder, 'heartbeatAgeMs' | 'staleAfterMs'> = {},
): LockVerdict {
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
			where: whereOf(record, local),
			...extra,
		},
	};
}

function seconds(ms: number): string {
	return `${Math.round(ms / 100) / 10}s`;
}

/** A holder whose PIDs we cannot check: its lease decides, and the kernel's lock on the database overrules it. */
function judgeByLease(record: LockRecord, local: LocalFacts): LockVerdict {
	if (!record.heartbeatMs) {
		// Written before leases existed: nothing tells us it stopped, except a reboot of this very host.
		if (record.host === local.host && record.bootId && local.bootId && record.bootId !== local.bootId) {
			return {
				state: 'stale',
				reason: 'rebooted',
				detail: `the lock was taken before a reboot (boot id ${record.bootId})`,
			};
		}
		return heldRemotely(record, local);
	}
	const staleAfterMs = Math.max(
		local.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs,
		record.staleAfterMs ?? 0,
		3 * record.heartbeatMs,
	);
	const heartbeatAgeMs = Math.max(0, local.heartbeatAgeMs ?? 0);
	if (local.databaseLocked?.()) return heldRemotely(record, local, { heartbeatAgeMs, staleAfterMs });
	if (heartbeatAgeMs <= staleAfterMs) return heldRemotely(record, local, { heartbeatAgeMs, staleAfterMs });
	return {
		state: 'stale',
		reason: 'lease-expired',
		detail: `the heartbeat of PID ${record.pid} in ${whereOf(record, local)} is ${seconds(heartbeatAgeMs)} old (stale after ${seconds(staleAfterMs)}) and no process on this machine holds the database`,
	};
}

/** A run that ended owing its After hook: nothing of it runs (its group was gone when it wrote that), the file is stale. */
function judgeReleased(record: LockRecord & { releasedAt: string }, local: LocalFacts): LockVerdict | undefined {
	if (checkableByPid(record, local) && record.pgid !== undefined && local.groupAlive?.(record.pgid)) return undefined;
	return {
		state: 'stale',
		reason: 'released',
		detail: `the run of PID ${record.supervisor.pid} ended at ${record.releasedAt} owing its After hook`,
	};
}

function judgeRecord(record: LockRecord, local: LocalFacts): LockVerdict {
	const released = record.releasedAt ? judgeReleased({ ...record, releasedAt: record.releasedAt }, local) : undefined;
	if (released) return released;
	if (!checkableByPid(record, local)) return judgeByLease(record, local);
	const lineOne = judgeProcess({ pid: record.pid, startTicks: record.pidStart }, local.process(record.pid));
	if (lineOne.alive) return { state: 'held', remote: false, holder: holderOf(record, record.role, lineOne) };
	const details = [`${record.role} PID ${record.pid} ${REASON_TEXT[lineOne.reason]}`];
	if (record.role === 'job' && record.supervisor.pid !== record.pid) {
		// A supervisor that gave its job up (survivors of SIGKILL) no longer holds the lock: only the job group does.
		const supervisor = judgeProcess(record.supervisor, local.process(record.supervisor.pid));
		if (supervisor.alive && !record.abandonedAt)
			return { state: 'held', remote: false, holder: holderOf(record, 'supervisor', supervisor) };
		details.push(
			supervisor.alive
				? `supervisor PID ${record.supervisor.pid} gave the job up at ${record.abandonedAt}`
				: `supervisor PID ${record.supervisor.pid} ${REASON_TEXT[supervisor.reason]}`,
		);
		if (record.pgid !== undefined && local.groupAlive?.(record.pgid)) {
			return {
				state: 'held',
				remote: false,
				holder: {
					pid: record.pgid,
					role: 'job',
					host: record.host,
					command: `${record.command} (processes left in its group ${record.pgid})`,
					identityProven: false,
					owner: record.owner,
					lockedAt: record.lockedAt,
				},
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
		return {
			state: 'stale',
			reason: judgement.reason,
			detail: `PID ${parsed.pid} (PID-only file) ${REASON_TEXT[judgement.reason]}`,
		};
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
