/**
 * Keeping a lease: the supervisor renews the lock every heartbeat, from its own event loop (never the job's, which
 * may sit in one long DuckDB call). A renewal that fails is recorded; when the lock is lost (no longer ours, or not
 * renewed for a whole lease), `onLost` fires once so the supervisor can stop the job: two writers must never run.
 */
import type { DatabaseLock } from './database-lock';
import { messageOf } from '../base/errors';

export interface LeaseReport {
	heartbeatMs: number;
	staleAfterMs: number;
	renewals: number;
	renewFailures: number;
	lastFailure?: string;
	lost?: string;
}

export interface LeaseKeeper {
	report: LeaseReport;
	stop(): void;
}

export function keepLease(lock: DatabaseLock, onLost: (detail: string) => void): LeaseKeeper {
	const report: LeaseReport = {
		heartbeatMs: lock.heartbeatMs,
		staleAfterMs: lock.staleAfterMs,
		renewals: 0,
		renewFailures: 0,
	};
	let busy = false;
	let stopped = false;
	const tick = async (): Promise<void> => {
		if (busy || stopped) return;
		busy = true;
		try {
			let result: Awaited<ReturnType<DatabaseLock['renew']>>;
			try {
				result = await lock.renew();
			} catch (error) {
				// Never an unhandled rejection inside n8n: an unexpected error is a failed renewal like any other.
				result = { ok: false, lost: false, detail: `renewal failed: ${messageOf(error)}` };
			}
			if (stopped) return;
			if (result.ok) {
				report.renewals++;
				return;
			}
			report.renewFailures++;
			report.lastFailure = result.detail;
			if (result.lost && !report.lost) {
				report.lost = result.detail;
				onLost(result.detail);
			}
		} finally {
			busy = false;
		}
	};
	const timer = setInterval(() => void tick(), lock.heartbeatMs);
	return {
		report,
		stop() {
			stopped = true;
			clearInterval(timer);
		},
	};
}
