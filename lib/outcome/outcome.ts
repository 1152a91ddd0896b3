/**
 * The Outcome of one run under the lock: one JSON-safe record shared by the CLI (exit code, --json) and the n8n
 * node (output branch, item). The status table below is the only place that maps a status to an exit code or an
 * output; the one-line summary is written to read well in a Discord or Slack message.
 */
import { basename } from 'node:path';
import { constants } from 'node:os';
import { formatDuration } from '../base/duration';
import type { StaleReason } from '../lock/liveness';
import type { StreamSummary } from '../run/output';
import type { Termination } from '../proc/stop';
import type { WalReport } from '../base/wal-files';
import type { LeaseReport } from '../lock/lease';
import { summarizeOperation, type IngestReport, type SqlReport } from './operation-reports';

export type OutcomeStatus = 'success' | 'blocked' | 'timeout' | 'failed' | 'canceled';

/** The n8n node's outputs, in order. `canceled` has none: a canceled execution ends the node instead. */
export const OUTPUT_NAMES = ['Success', 'Blocked', 'Timeout', 'Failed'] as const;

export const EXIT_CODES = {
	success: 0,
	/** GNU timeout: the time limit was hit. */
	timeout: 124,
	/** GNU timeout: our own error (bad arguments, missing folder, unreadable lock used wrongly). */
	usage: 125,
	notExecutable: 126,
	notFound: 127,
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
	/** The PID file exists but cannot be read as a lock (garbage, empty, symlink): a person must look. */
	unreadable?: true;
	detail?: string;
}

export interface RecoveredLockReport {
	reason: StaleReason;
	detail: string;
	pid: number;
	command?: string;
	host?: string;
	owner?: string;
	lockedAt?: string;
}

export type Operation = 'runCommand' | 'ingestFiles' | 'runSql';

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
		waitedMs: number;
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
	/** Ingest Files: files and rows, per-file results. */
	ingest?: IngestReport;
	/** Run SQL: statements, changed rows, the last query's rows when asked for. */
	sql?: SqlReport;
}

function signalNumber(signal: string | null | undefined): number | undefined {
	if (!signal) return undefined;
	return (constants.signals as Record<string, number>)[signal];
}

/** The CLI's exit code, GNU timeout compatible. */
export function exitCodeFor(outcome: Pick<Outcome, 'status' | 'exitCode' | 'signal' | 'holder'>, conflictExitCode: number = EXIT_CODES.blockedDefault, supervisorSignal?: string): number {
	switch (outcome.status) {
		case 'success':
			return EXIT_CODES.success;
		case 'blocked':
			return outcome.holder?.unreadable ? EXIT_CODES.usage : conflictExitCode;
		case 'timeout':
			return EXIT_CODES.timeout;
		case 'canceled':
			return 128 + (signalNumber(supervisorSignal) ?? constants.signals.SIGTERM);
		case 'failed': {
			if (outcome.exitCode !== null && outcome.exitCode !== 0) return outcome.exitCode;
			const number = signalNumber(outcome.signal);
			return number ? 128 + number : 1;
		}
	}
}

/** The node output an outcome goes to (index into OUTPUT_NAMES), or undefined for `canceled`. */
export function outputIndexFor(status: OutcomeStatus): number | undefined {
	const index = { success: 0, blocked: 1, timeout: 2, failed: 3, canceled: undefined }[status];
	return index;
}

function describeCommand(outcome: Pick<Outcome, 'command' | 'shell'>): string {
	const text = outcome.shell ? outcome.command.join(' ') : outcome.command.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' ');
	return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lastLine(text: string): string | undefined {
	const line = text.trimEnd().split('\n').pop()?.trim();
	if (!line) return undefined;
	return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

export function describeHolder(holder: HolderReport): string {
	const parts = [holder.pid !== null && holder.pid > 0 ? `PID ${holder.pid}` : 'a process we cannot see'];
	if (holder.remote) parts.push(holder.where ? `in ${holder.where}` : `on host ${holder.host}`);
	const heartbeat = holder.heartbeatAgeSeconds !== undefined ? `heartbeat ${formatDuration(holder.heartbeatAgeSeconds * 1000)} ago` : undefined;
	const details = [holder.command, holder.elapsedSeconds !== undefined ? `running ${formatDuration(holder.elapsedSeconds * 1000)}` : undefined, heartbeat, holder.owner]
		.filter((part): part is string => Boolean(part));
	return details.length ? `${parts.join(' ')} (${details.join(', ')})` : parts.join(' ');
}

/** The one-line human summary. */
export function summarize(outcome: Omit<Outcome, 'summary'>): string {
	const special = summarizeOperation(outcome);
	if (special) return special;
	const db = basename(outcome.database);
	const command = describeCommand(outcome);
	const took = formatDuration(outcome.durationMs);
	const recovered = outcome.lock.recovered.length
		? ` (recovered a stale lock of PID ${outcome.lock.recovered.map((entry) => `${entry.pid}, ${entry.reason}`).join('; ')})`
		: '';
	switch (outcome.status) {
		case 'success':
			return `Success: ${command} finished in ${took} on ${db}${recovered}`;
		case 'blocked':
			if (outcome.holder?.unreadable) return `Blocked: the lock file of ${db} is unreadable (${outcome.holder.detail}); not started`;
			return outcome.holder
				? `Blocked: ${db} is held by ${describeHolder(outcome.holder)}; not started`
				: outcome.error ? `Blocked: the lock of ${db} cannot be checked: ${outcome.error}; not started (never run unprotected)`
				: `Blocked: ${db} is locked; not started`;
		case 'timeout': {
			const how = outcome.termination?.sigkillSent ? `SIGTERM, then SIGKILL after ${formatDuration(outcome.graceMs)} grace` : 'SIGTERM';
			return `Timeout: ${command} stopped after ${took} (limit ${formatDuration(outcome.timeoutMs)}; ${how}) on ${db}${recovered}`;
		}
		case 'canceled':
			return `Canceled: ${command} stopped after ${took} on ${db} (${outcome.termination?.reason === 'supervisor-signal' ? 'the supervisor was signalled' : 'execution canceled'})`;
		case 'failed': {
			if (outcome.error) return `Failed: ${outcome.error} (on ${db})`;
			const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
			const detail = lastLine(outcome.output.stderr.tail) ?? lastLine(outcome.output.stdout.tail);
			return `Failed: ${command} ${how} after ${took} on ${db}${detail ? `: ${detail}` : ''}`;
		}
	}
}
