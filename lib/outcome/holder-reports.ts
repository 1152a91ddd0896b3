/** Turning lock and holder findings into the HolderReport / RecoveredLockReport parts of an Outcome. */

import type { DatabaseHolder } from '../duckdb/database-holders';
import { hostName } from '../proc/identity';
import type { HolderReport, RecoveredLockReport } from './outcome';
import { type LockInspection } from '../lock/judge-pid-file';
import { type RecoveredLock } from '../lock/stale-removal';

export function recoveredReport(entry: RecoveredLock): RecoveredLockReport {
	const previous = entry.previous;
	if (previous.kind === 'legacy') return { reason: entry.reason, detail: entry.detail, pid: previous.pid };
	const record = previous.record;
	return {
		reason: entry.reason,
		detail: entry.detail,
		pid: record.pid,
		command: record.command,
		host: record.host,
		owner: record.owner,
		lockedAt: record.lockedAt,
		...(record.afterPending ? { afterPending: record.afterPending } : {}),
	};
}

export function holderFromDatabase(holder: DatabaseHolder): HolderReport {
	return {
		pid: holder.pid,
		host: hostName(),
		command: holder.command,
		role: holder.ours ? 'job' : 'unknown',
		state: holder.state,
		elapsedSeconds: holder.elapsedSeconds,
		identityProven: holder.pid !== null,
		remote: false,
		source: holder.source,
		lock: holder.lock,
		detail: `holds DuckDB's ${holder.lock} lock on the database${holder.pid === null ? ' from a process we cannot see (another PID namespace or container)' : ''}`,
	};
}

export function holderFromInspection(inspection: LockInspection): HolderReport | undefined {
	if (inspection.state === 'held') {
		const holder = inspection.holder;
		return {
			pid: holder.pid,
			host: holder.host,
			command: holder.command,
			role: holder.role,
			state: holder.state,
			elapsedSeconds: holder.elapsedSeconds,
			owner: holder.owner || undefined,
			lockedAt: holder.lockedAt,
			identityProven: holder.identityProven,
			remote: inspection.remote,
			where: holder.where,
			heartbeatAgeSeconds:
				holder.heartbeatAgeMs === undefined ? undefined : Math.round(holder.heartbeatAgeMs / 100) / 10,
			source: 'pid-file',
		};
	}
	if (inspection.state === 'unreadable') {
		return {
			pid: null,
			host: '',
			command: '',
			role: 'unknown',
			identityProven: false,
			remote: false,
			source: 'pid-file',
			unreadable: true,
			detail: inspection.reason,
		};
	}
	return undefined;
}
