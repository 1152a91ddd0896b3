/**
 * The Outcome of one run under the lock: one JSON-safe record shared by the CLI (exit code, --json) and the n8n
 * node (output branch, item). Types only: status.ts maps a status to an exit code and an output, summary.ts writes
 * the one-line summary.
 */
import type { StaleReason } from '../lock/liveness';
import type { Termination } from '../proc/stop';
import { START_FAILURE_EXIT } from '../proc/start';
import type { WalReport } from '../base/wal-files';
import type { LeaseReport } from '../lock/lease';
import type { PendingAfter } from '../lock/pid-file-format';
import type { IngestReport, InsertReport, SqlReport } from './operation-reports';

export type OutcomeStatus = 'success' | 'blocked' | 'timeout' | 'failed' | 'canceled';

export const EXIT_CODES = {
	success: 0,
	/** GNU timeout: the time limit was hit. */
	timeout: 124,
	/** GNU timeout: our own error (bad arguments, missing folder, unreadable lock used wrongly). */
	usage: 125,
	notExecutable: START_FAILURE_EXIT.notExecutable,
	notFound: START_FAILURE_EXIT.notFound,
	/** Like flock: the default exit code when the lock is held; `--conflict-exit-code` changes it. */
	blockedDefault: 1,
} as const;

/** Who holds the database when a run is blocked (or what a stale lock said). */
export interface HolderReport {
	pid: number | null;
	host: string;
	command: string;
	role: 'job' | 'supervisor' | 'legacy' | 'unknown';
	state?: string;
	elapsedSeconds?: number;
	owner?: string;
	lockedAt?: string;
	/** Same boot id and start time as recorded: not a reused PID. */
	identityProven: boolean;
	remote: boolean;
	/** Where we learned it. */
	source: 'pid-file' | 'duckdb-file-lock' | 'duckdb-probe';
	/** A holder we cannot check by PID (another host or container): where it is, and how old its heartbeat is. */
	where?: string;
	heartbeatAgeSeconds?: number;
	/** A holder of DuckDB's own lock: read-only (a reader), read-write (a writer), or just the file open. */
	lock?: 'read' | 'write' | 'open';
	/** The PID file exists but cannot be read as a lock (garbage, empty, symlink): a person must look. */
	unreadable?: true;
	detail?: string;
}

/** One Before or After hook of a run: what it was, how long it took, how it answered. */
export interface HookReport {
	phase: 'before' | 'after';
	kind: 'request' | 'command';
	/** Method and URL (password redacted) or the command line; header values never. */
	target: string;
	startedAt: string;
	durationMs: number;
	ok: boolean;
	statusCode?: number;
	exitCode?: number;
	error?: string;
	/** An After an earlier run owed (its supervisor died before doing it), done by this run: that run's PID. */
	pendingFrom?: number;
}

export type { PendingAfter };

export interface RecoveredLockReport {
	reason: StaleReason;
	detail: string;
	pid: number;
	command?: string;
	host?: string;
	owner?: string;
	lockedAt?: string;
	/** The After hook the run of that lock still owed (its supervisor died after its Before). */
	afterPending?: PendingAfter;
}

export type Operation = 'runCommand' | 'ingestFiles' | 'runSql' | 'insertRows';

export interface Outcome {
	status: OutcomeStatus;
	summary: string;
	/** runCommand, or one of the built-in DuckDB operations (then `command` is our worker process). */
	operation: Operation;
	database: string;
	command: string[];
	/** False, or the shell that ran the command line (`/bin/sh`): said out loud because a shell line can inject. */
	shell: false | string;
	cwd: string;
	exitCode: number | null;
	signal: string | null;
	jobPid: number | null;
	startedAt: string;
	endedAt: string;
	durationMs: number;
	timeoutMs: number;
	graceMs: number;
	lock: {
		pidFile: string;
		/** Which lock decided: the PID file, or a Redis key (then the PID file is written for people too). */
		backend: 'file' | 'redis';
		redisKey?: string;
		acquired: boolean;
		/** How long taking our lock (the PID file or Redis key) waited. */
		waitedMs: number;
		/** Then how long DuckDB's own lock was waited for (only when others held it). */
		databaseWaitedMs?: number;
		recovered: RecoveredLockReport[];
		released: boolean;
		releaseNote?: string;
		/** The lease kept while the job ran: renewals, failed renewals (e.g. Redis unreachable) and a loss. */
		lease?: LeaseReport;
	};
	holder?: HolderReport;
	termination?: Termination;
	wal: WalReport;
	output: { stdout: StreamSummary; stderr: StreamSummary; logFile?: string; logError?: string };
	/** A message for people when the job could not run or our side failed. */
	error?: string;
	/** Every holder of DuckDB's lock seen when the run was Blocked by them (readers, foreign writers, other containers). */
	holders?: HolderReport[];
	/** The Before and After hooks, in the order they ran. */
	hooks?: HookReport[];
	/** Blocked by a stale lock whose run (PID) still owes its After hook: only a run with an After hook clears it. */
	afterPending?: PendingAfter & { pid: number };
	/** Ingest Files: files and rows, per-file results. */
	ingest?: IngestReport;
	/** Run SQL: statements, changed rows, the last query's rows when asked for. */
	sql?: SqlReport;
	/** Insert Rows: rows inserted, ignored, updated; batches; which items landed. */
	insert?: InsertReport;
	/** Set when this item ran in one worker with other items of the same execution: its place among them. */
	batch?: { position: number; items: number };
}

/** What a run keeps of each of the job's output streams. */
export interface StreamSummary {
	/** The last bytes of the stream (UTF-8, at most the tail size). */
	tail: string;
	/** Total bytes the job wrote to this stream. */
	bytes: number;
	/** True when the tail holds less than everything. */
	truncated: boolean;
}
