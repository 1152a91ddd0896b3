/**
 * The options of a supervised run, their defaults (one place), and their validation: everything is checked before
 * anything is created, so bad input leaves no trace.
 */
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { messageOf, UsageError } from '../base/errors';
import { redactUrls } from '../base/mask';
import { isDirectory, isNonEmptyFile, pathProblem } from '../base/paths';
import { findWalFiles } from '../base/wal-files';
import type { Operation, Outcome } from '../outcome/outcome';

import { LEASE_DEFAULTS } from '../lock/liveness';
import { lookupCommand } from '../proc/which';
import { headerProblem, HOOK_DEFAULTS, type HookSpec, type RunHookSpecs } from './hooks';
import { type RedisBackendOptions } from '../lock/redis-inspect';

export const RUN_DEFAULTS = {
	timeoutMs: 120 * 60_000,
	graceMs: 10_000,
	waitMs: 0,
	shell: '/bin/sh',
	/** After the job's group is gone, how long to wait for its pipes to close (held open by escaped processes). */
	drainMs: 250,
	/** Node's timers hold at most 2^31-1 ms (24.8 days); 24 days keeps a margin. Also the most for the heartbeat and the stale period. */
	maxTimeoutMs: 24 * 86_400_000,
	/** The most of each stream's output kept in memory (and in the outcome). */
	maxTailBytes: 16 * 1024 * 1024,
};

/** Where `--redis env` (both command-line tools) reads the Redis URL from; never passed on to a job. */
export const REDIS_URL_ENV = 'DUCKDB_SAFE_INGEST_REDIS_URL';

/** Given to our worker (passWaitDeadline): until when (Date.now() ms) it may retry DuckDB's open on a conflict. */
export const WAIT_UNTIL_ENV = 'DUCKDB_SAFE_INGEST_WAIT_UNTIL';

/** redis:// or rediss:// (TLS): the URLs the Redis backend accepts. */
export function isRedisUrl(url: string): boolean {
	return /^rediss?:\/\//.test(url);
}

export interface RunOptions {
	databasePath: string;
	/** What the job is: a user's command (default), or our DuckDB worker for a built-in operation. */
	operation?: Operation;
	/**
	 * Ask DuckDB itself (a read-only open in a short-lived process) whether a process we cannot see holds the
	 * database, before starting the job. Default true. Our own worker skips it: its open is that same question, and
	 * a conflict there becomes Blocked.
	 */
	probeDatabase?: boolean;
	/** argv: the program and its arguments. With `shell`, the shell line followed by its positional parameters ($1...). */
	command: string[];
	/** Run `command[0]` as a shell line: true for /bin/sh, or the shell's path. Off by default. */
	shell?: boolean | string;
	cwd?: string;
	/** The job's own variables, on top of what it inherits. */
	env?: Record<string, string>;
	/**
	 * Which variables of our own environment the job inherits (the caller's policy, e.g. the node's with the admin
	 * allowlist); absent: all of them. The Redis URL variable never is.
	 */
	inheritEnv?: (name: string) => boolean;
	timeoutMs?: number;
	graceMs?: number;
	waitMs?: number;
	/** Label written into the PID file: who holds the lock. */
	owner?: string;
	/** Appends the job's output here as it comes. */
	logFile?: string;
	tailBytes?: number;
	/** Cancels the run: the job group is stopped and the lock released. A reason like 'SIGTERM' marks a supervisor signal. */
	signal?: AbortSignal;
	/** The lease: heartbeat interval, and the stale period (for judging holders we cannot check by PID, and our own). */
	heartbeatMs?: number;
	staleAfterMs?: number;
	/** Use a Redis lock (workers on several machines); the PID file is then written for people and scripts. */
	redis?: RedisBackendOptions;
	/** The Before and After hooks: the handshake with the programs sharing the database. */
	handshake?: RunHookSpecs;
	/** Our worker: its environment gets the moment the lock wait ends, to retry DuckDB's open until then. */
	passWaitDeadline?: boolean;
	/** Our worker: completes the outcome with its report, before the After hook is given it and before it is returned. */
	finishOutcome?: (outcome: Outcome) => Outcome;
	/** Our worker: a line of its output that starts the timeout over (each item of a batch gets the whole timeout). */
	timeoutRestartsOn?: (stream: 'stdout' | 'stderr', line: string) => boolean;
}

export interface ResolvedRun {
	databasePath: string;
	file: string;
	args: string[];
	shell: false | string;
	cwd: string;
	timeoutMs: number;
	graceMs: number;
	waitMs: number;
	logFile?: string;
	heartbeatMs: number;
	staleAfterMs: number;
	hookTimeoutMs: number;
}

/** Checks everything before anything is created, so bad input leaves no trace. */
export function resolveRunOptions(options: RunOptions): ResolvedRun {
	const { databasePath, cwd } = checkPlaces(options);
	if (!options.command.length || !options.command[0])
		throw new UsageError('No command to run. Give the program and its arguments.');
	const { timeoutMs, graceMs, waitMs } = checkTimes(options);
	const { heartbeatMs, staleAfterMs } = checkLease(options);
	if (options.redis && !isRedisUrl(options.redis.url))
		throw new UsageError('The Redis URL must start with redis:// or rediss://, e.g. redis://redis:6379/0.');
	const tailBytes = options.tailBytes;
	if (
		tailBytes !== undefined &&
		(!Number.isSafeInteger(tailBytes) || tailBytes < 0 || tailBytes > RUN_DEFAULTS.maxTailBytes)
	) {
		throw new UsageError(
			`The output tail size must be a whole number of bytes from 0 to ${RUN_DEFAULTS.maxTailBytes} (16 MiB) (got ${tailBytes}).`,
		);
	}
	const logFile = options.logFile ? resolve(options.logFile) : undefined;
	if (logFile) checkLogFile(logFile);
	const shell = options.shell === true ? RUN_DEFAULTS.shell : options.shell || false;
	// With a shell, command[0] is the line and the rest become $1, $2, ...: values are never spliced into the line.
	const [file, ...args] = shell
		? [shell, '-c', options.command[0], 'sh', ...options.command.slice(1)]
		: options.command;
	const hookTimeoutMs = checkHandshake(options.handshake, cwd);
	return {
		databasePath,
		file,
		args,
		shell,
		cwd,
		timeoutMs,
		graceMs,
		waitMs,
		logFile,
		heartbeatMs,
		staleAfterMs,
		hookTimeoutMs,
	};
}

/** The database path, its folder and WAL, the log file path and the working directory. */
function checkPlaces(options: RunOptions): { databasePath: string; cwd: string } {
	if (!options.databasePath) throw new UsageError('The database path is empty. Give the path of the DuckDB file.');
	const databasePath = resolve(options.databasePath);
	const problem =
		pathProblem(databasePath, 'database path', { lockFiles: true }) ??
		(options.logFile ? pathProblem(resolve(options.logFile), 'log file path') : undefined) ??
		(options.cwd ? pathProblem(resolve(options.cwd), 'working directory') : undefined);
	if (problem) throw new UsageError(problem);
	if (!isDirectory(dirname(databasePath))) {
		throw new UsageError(
			`The database folder ${dirname(databasePath)} does not exist. Create it, or fix the database path (${databasePath}).`,
		);
	}
	if (isDirectory(databasePath))
		throw new UsageError(`${databasePath} is a folder. Give the path of the DuckDB file itself.`);
	if (findWalFiles(databasePath).present && !isNonEmptyFile(databasePath)) {
		throw new UsageError(
			`${databasePath} is missing (or empty) but its WAL is there: a job opening it would make DuckDB discard the WAL's committed data. Restore the database file next to its WAL (or move the WAL files somewhere safe) before running.`,
		);
	}
	const cwd = resolve(options.cwd ?? process.cwd());
	if (!isDirectory(cwd))
		throw new UsageError(`The working directory ${cwd} does not exist. Create it, or fix the working directory.`);
	return { databasePath, cwd };
}

/** The timeout, the grace period and the lock wait. */
function checkTimes(options: RunOptions): { timeoutMs: number; graceMs: number; waitMs: number } {
	const timeoutMs = options.timeoutMs ?? RUN_DEFAULTS.timeoutMs;
	const graceMs = options.graceMs ?? RUN_DEFAULTS.graceMs;
	const waitMs = options.waitMs ?? RUN_DEFAULTS.waitMs;
	if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
		throw new UsageError(`The timeout must be greater than zero (got ${timeoutMs} ms).`);
	if (timeoutMs > RUN_DEFAULTS.maxTimeoutMs)
		throw new UsageError(`The timeout is too long (${timeoutMs} ms); the most is 24 days.`);
	if (!Number.isFinite(graceMs) || graceMs < 0)
		throw new UsageError(`The grace period cannot be negative (got ${graceMs} ms).`);
	if (graceMs > timeoutMs)
		throw new UsageError(
			`The grace period (${graceMs} ms) is longer than the timeout (${timeoutMs} ms). Shorten the grace or raise the timeout.`,
		);
	if (!Number.isFinite(waitMs) || waitMs < 0)
		throw new UsageError(`The lock wait cannot be negative (got ${waitMs} ms).`);
	return { timeoutMs, graceMs, waitMs };
}

/** The heartbeat interval and the stale period of the lease. */
function checkLease(options: RunOptions): { heartbeatMs: number; staleAfterMs: number } {
	if (options.heartbeatMs !== undefined && (!Number.isFinite(options.heartbeatMs) || options.heartbeatMs < 50)) {
		throw new UsageError(`The heartbeat interval must be at least 50 ms (got ${options.heartbeatMs} ms).`);
	}
	// Above 2^31-1 ms Node's timers fire after 1 ms instead: a heartbeat loop, or a lease judged by the wrong period.
	if (options.heartbeatMs !== undefined && options.heartbeatMs > RUN_DEFAULTS.maxTimeoutMs) {
		throw new UsageError(`The heartbeat interval is too long (${options.heartbeatMs} ms); the most is 24 days.`);
	}
	const staleAfterMs = options.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs;
	if (staleAfterMs > RUN_DEFAULTS.maxTimeoutMs)
		throw new UsageError(`The stale period is too long (${staleAfterMs} ms); the most is 24 days.`);
	// Without an explicit heartbeat, six of them fit in the stale period (at most the default interval).
	const heartbeatMs =
		options.heartbeatMs ?? Math.max(50, Math.min(LEASE_DEFAULTS.heartbeatMs, Math.floor(staleAfterMs / 6)));
	if (!Number.isFinite(staleAfterMs) || staleAfterMs < 3 * heartbeatMs) {
		throw new UsageError(
			`The stale period (${staleAfterMs} ms) must be at least three heartbeats (${3 * heartbeatMs} ms), so that a live holder is never judged stale.`,
		);
	}
	return { heartbeatMs, staleAfterMs };
}

/**
 * The log file must be appendable, which is checked before the lock is taken. An existing file is opened for
 * appending (without writing; non-blocking, so a FIFO without a reader fails instead of hanging); for a missing
 * one, its folder must be writable (the file is created when the job starts).
 */
function checkLogFile(logFile: string): void {
	if (!isDirectory(dirname(logFile)))
		throw new UsageError(
			`The log file's folder ${dirname(logFile)} does not exist. Create it, or fix the log file path.`,
		);
	if (isDirectory(logFile)) throw new UsageError(`The log file ${logFile} is a folder. Give the path of a file in it.`);
	try {
		if (existsSync(logFile))
			closeSync(openSync(logFile, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_NONBLOCK));
		else accessSync(dirname(logFile), fsConstants.W_OK | fsConstants.X_OK);
	} catch (error) {
		throw new UsageError(
			`The log file ${logFile} cannot be opened for appending (${messageOf(error)}). Fix its permissions, or choose another path.`,
		);
	}
}

function checkHook(spec: HookSpec | undefined, phase: string, cwd: string): void {
	if (!spec) return;
	if (spec.kind === 'request') {
		let url: URL;
		try {
			url = new URL(spec.url);
		} catch {
			throw new UsageError(
				`The ${phase} hook's URL "${redactUrls(spec.url)}" is not a URL. Give one like http://api:8000/prepare-for-ingestion.`,
			);
		}
		if (url.protocol !== 'http:' && url.protocol !== 'https:')
			throw new UsageError(`The ${phase} hook's URL must be http:// or https:// (got ${url.protocol}).`);
		for (const [name, value] of Object.entries(spec.headers ?? {})) {
			const problem = headerProblem(name, value);
			if (problem) throw new UsageError(`The ${phase} hook: ${problem}.`);
		}
		return;
	}
	const found = lookupCommand(spec.file, process.env.PATH, cwd);
	if (found.kind !== 'found')
		throw new UsageError(
			`The ${phase} hook's command ${spec.file} is ${found.kind === 'not-found' ? 'not found' : 'not executable'}. Give the path of an executable (no shell line).`,
		);
}

/** The hooks are checked before anything is created; the hook timeout, bounded like every other duration. */
export function checkHandshake(handshake: RunHookSpecs | undefined, cwd: string): number {
	checkHook(handshake?.before, 'Before', cwd);
	checkHook(handshake?.after, 'After', cwd);
	const timeoutMs = handshake?.timeoutMs ?? HOOK_DEFAULTS.timeoutMs;
	if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > RUN_DEFAULTS.maxTimeoutMs)
		throw new UsageError(`The hook timeout must be greater than zero and at most 24 days (got ${timeoutMs} ms).`);
	return timeoutMs;
}
