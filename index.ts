// The n8n-free core of n8n-nodes-duckdb-safe-ingest, for use from plain Node (the CLIs and the nodes call the same).
export * from './lib/lock/lock';
export { parsePidFile, serializeRecord, type LockRecord, type ParsedPidFile } from './lib/lock/record';
export { judgeLock, type LockHolder, type LockVerdict } from './lib/lock/liveness';
export { parseDuration, formatDuration } from './lib/duration';
export { UsageError } from './lib/errors';
