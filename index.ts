// The n8n-free core of n8n-nodes-duckdb-safe-ingest, for use from plain Node (the CLIs and the nodes call the same).
export { acquireLock, LOCK_DEFAULTS, type AcquireOptions, type AcquireResult } from './lib/lock/pid-file-lock';
export { inspectLock, type JudgeOptions, type LockInspection, type PreviousHolder } from './lib/lock/judge-pid-file';
export { removeStaleLock, type RecoveredLock } from './lib/lock/stale-removal';
export { HeldLock, releaseByToken, type JobIdentity, type ReleaseResult } from './lib/lock/held-pid-file';
export { supervisorRecord } from './lib/lock/supervisor-record';
export {
	parsePidFile,
	pidFilePathFor,
	serializeRecord,
	type LockRecord,
	type ParsedPidFile,
} from './lib/lock/pid-file-format';
export { judgeLock, type LockHolder, type LockVerdict, type StaleReason } from './lib/lock/liveness';
export { parseDuration, formatDuration } from './lib/base/duration';
export { UsageError } from './lib/base/errors';
export { runUnderLock } from './lib/run/supervise';
export { RUN_DEFAULTS, type RunOptions } from './lib/run/options';
export type { RunEvent, RunHooks } from './lib/run/events';
export { cleanupDatabase } from './lib/cleanup/cleanup';
export { CLEANUP_DEFAULTS, type CleanupPolicy } from './lib/cleanup/policy';
export type { CleanupReport } from './lib/outcome/cleanup-report';
export { findDatabaseHolders, type DatabaseHolder } from './lib/duckdb/database-holders';
export { findWalFiles, type WalReport } from './lib/base/wal-files';
export { EXIT_CODES, type Outcome, type OutcomeStatus } from './lib/outcome/outcome';
export { OUTPUT_NAMES, exitCodeFor, outputIndexFor } from './lib/outcome/status';
