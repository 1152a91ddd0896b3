/**
 * Lock cleanup: inspect → plan → act per policy → report.
 *
 * Policies, from safest: inspect only; remove stale locks (always safe: a stale PID file's holder is provably gone);
 * also stop our own stuck jobs older than an age; also stop any other holder (explicit opt-in). WAL recovery is its
 * own opt-in and runs only under our lock with nothing holding the database. Nothing here deletes a WAL file.
 */
import type { CleanupAction, CleanupReport } from '../outcome/cleanup-report';
import type { WalRecovery } from '../duckdb/recover-wal';
import { recoverLeftWal, removeStalePidFile, removeStaleRedis, stopCandidates } from './act';
import { inspect } from './inspect';
import { checkDatabasePath, type CleanupPolicy } from './policy';
import { reportOf } from './report';
import { checkHandshake } from '../run/options';

export async function cleanupDatabase(databasePath: string, given: CleanupPolicy): Promise<CleanupReport> {
	checkDatabasePath(databasePath);
	// The After hook is checked before anything is looked at, from the node as from the command line.
	const policy: CleanupPolicy = given.after
		? { ...given, hookTimeoutMs: checkHandshake({ after: given.after, timeoutMs: given.hookTimeoutMs }, process.cwd()) }
		: given;
	let found = await inspect(databasePath, policy.removeStale, policy);
	if (!policy.removeStale) return reportOf(databasePath, found, []);
	const actions: CleanupAction[] = await stopCandidates(databasePath, found, policy);
	if (await removeStaleRedis(databasePath, policy, actions)) found = await inspect(databasePath, false, policy);
	await removeStalePidFile(databasePath, found, policy, actions);
	found = await inspect(databasePath, true, policy);
	let walRecovery: WalRecovery | undefined;
	if (policy.recoverWal && found.wal.present) {
		walRecovery = await recoverLeftWal(databasePath, found, policy, actions);
		if (!policy.signal?.aborted || walRecovery) found = await inspect(databasePath, true, policy);
	}
	return reportOf(databasePath, found, actions, walRecovery);
}
