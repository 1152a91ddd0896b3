/** What a cleanup may do (the policy, from safest), its defaults, and the check that the database is really there. */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../base/errors';
import { isDirectory, pathProblem } from '../base/paths';
import { findWalFiles } from '../base/wal-files';

import { pidFilePathFor } from '../lock/pid-file-format';
import { type RedisBackendOptions } from '../lock/redis-inspect';
import { maskSecrets, redactUrls } from '../base/mask';
import type { HookSpec } from '../run/hooks';

export const CLEANUP_DEFAULTS = { graceMs: 10_000, stuckAfterMs: 180 * 60_000, releaseWaitMs: 3000 };

/** A process the cleanup may stop, as it is shown to the person confirming. */
export interface StopCandidate {
	pid: number;
	command: string;
	elapsedSeconds?: number;
	ours: boolean;
	why: string;
}

export interface CleanupPolicy {
	/** false: inspect only. */
	removeStale: boolean;
	/** Stop our own jobs (named by the PID file) running longer than this. */
	stopStuckAfterMs?: number;
	/** Stop any process holding the database (explicit opt-in). */
	stopAllHolders?: boolean;
	recoverWal?: boolean;
	graceMs?: number;
	/** Asked before each stop (a terminal prompt); absent means the policy itself is the confirmation. */
	confirm?: (target: StopCandidate) => Promise<boolean>;
	/** Holders we cannot check by PID are stale once their heartbeat is this old (default 60 s). */
	staleAfterMs?: number;
	/** The Redis lock backend, when the runs use it. */
	redis?: RedisBackendOptions;
	/**
	 * The After hook to do for a stale lock whose run still owed one (it told the programs sharing the database to
	 * let go, then died): done, then the lock is removed. `afterDone`: a person did it; the lock is removed.
	 */
	after?: HookSpec;
	afterDone?: boolean;
	hookTimeoutMs?: number;
	/** Cancels the cleanup (n8n's Stop, Ctrl-C): no further stop, removal or WAL recovery starts; a stop under way finishes. */
	signal?: AbortSignal;
}

/**
 * Masks what the cleanup writes where others read it (its own lock and recovery claim record its command line): the
 * After request's header values (an API key given with --request-header) and URL passwords and query values.
 */
export function policyMask(policy: CleanupPolicy): (text: string) => string {
	const secrets = policy.after?.kind === 'request' ? Object.values(policy.after.headers ?? {}) : [];
	return (text) => redactUrls(maskSecrets(text, secrets));
}

/** A mistyped path must not be reported as a clean database: something of it (file, lock, WAL) has to exist. */
export function checkDatabasePath(databasePath: string): void {
	const problem = pathProblem(databasePath, 'database path', { lockFiles: true });
	if (problem) throw new UsageError(problem);
	const folder = dirname(databasePath);
	if (!isDirectory(folder))
		throw new UsageError(`The database folder ${folder} does not exist. Fix the database path.`);
	const traces = [databasePath, pidFilePathFor(databasePath), `${pidFilePathFor(databasePath)}.recover`];
	if (!traces.some((path) => existsSync(path)) && !findWalFiles(databasePath).present) {
		throw new UsageError(
			`There is no database ${databasePath} (no file, no lock file, no WAL). Fix the database path.`,
		);
	}
}
