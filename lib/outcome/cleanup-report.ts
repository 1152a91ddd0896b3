/** What a cleanup reports (the Lock Cleanup node's item, duckdb-lock-cleanup --json): JSON-safe. */
import type { WalReport } from '../base/wal-files';
import type { DatabaseHolder } from '../duckdb/database-holders';
import type { WalRecovery } from '../duckdb/recover-wal';

import type { HolderReport, PendingAfter } from './outcome';
import type { CleanupState } from './status';
import { type LockInspection } from '../lock/judge-pid-file';

/** The Redis side of the lock: free, held (by whom, how long its lease still runs), or unreachable. */
export interface RedisReport {
	key: string;
	state: 'free' | 'held' | 'unreachable';
	holder?: HolderReport;
	ttlMs?: number;
	error?: string;
}

export type WalStatus = 'none' | 'in-use' | 'left-by-crash';

export interface CleanupAction {
	action: 'remove-stale-pid-file' | 'remove-stale-redis-lock' | 'stop-holder' | 'recover-wal' | 'after-hook';
	target: string;
	done: boolean;
	detail: string;
}

export interface CleanupReport {
	state: CleanupState;
	summary: string;
	database: string;
	backend: 'file' | 'redis';
	pidFile: LockInspection;
	redis?: RedisReport;
	holders: DatabaseHolder[];
	wal: WalReport & { status: WalStatus };
	actions: CleanupAction[];
	/** What still stands in the way, in words. */
	remaining: string[];
	walRecovery?: WalRecovery;
	/** The After hook the stale lock's run still owes (its supervisor died after its Before): do it, or say it is done. */
	afterPending?: PendingAfter & { pid: number };
}
