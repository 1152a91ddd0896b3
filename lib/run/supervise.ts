/**
 * runUnderLock: the order of events of one supervised run.
 *
 *   acquire the lock (optional wait) → start the job in its own process group → record the job in the PID file →
 *   wait, with a wall-clock deadline and the cancel signal → stop the group (TERM, grace, KILL) when needed →
 *   release the lock on every path.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors';
import { acquireLock, type LockInspection, type RecoveredLock } from '../lock/lock';
import { groupAlive, signalGroup, type GroupIdentity } from '../proc/group';
import { hostName, readProcess } from '../proc/identity';
import { summarize, type HolderReport, type Outcome, type RecoveredLockReport } from '../outcome';
import { findWalFiles } from '../wal';
import { LogFile, OutputPump, type OutputOptions, type StreamName } from './output';
import { startJob } from './spawn';
import { stopGroup, type Termination } from './terminate';
import { trackRun } from './guard';
import { findDatabaseHolders, lockHolders, type DatabaseHolder } from '../duckdb/holders';
import type { Writable } from 'node:stream';

export const RUN_DEFAULTS = {
	timeoutMs: 120 * 60_000,
	graceMs: 10_000,
	waitMs: 0,
	shell: '/bin/sh',
	/** After the job's group is gone, how long to wait for its pipes to close (held open by escaped processes). */
	drainMs: 250,
	/** Node's timers hold at most 2^31-1 ms (24.8 days); 24 days keeps a margin. */
	maxTimeoutMs: 24 * 86_400_000,
};

export interface RunOptions {
	databasePath: string;
	/** argv: the program and its arguments. With `shell`, the shell line followed by its positional parameters ($1...). */
	command: string[];
	/** Run `command[0]` as a shell line: true for /bin/sh, or the shell's path. Off by default. */
	shell?: boolean | string;
	cwd?: string;
	env?: Record<string, string>;
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
}

export type RunEvent =
	| { type: 'lock-check'; pidFile: string }
	| { type: 'lock-acquired'; pidFile: string; recovered: RecoveredLockReport[]; waitedMs: number }
	| { type: 'job-started'; pid: number; command: string[] }
	| { type: 'job-stopping'; reason: Termination['reason'] }
	| { type: 'job-finished'; exitCode: number | null; signal: string | null; durationMs: number }
	| { type: 'lock-released'; pidFile: string; released: boolean; note?: string };

export interface RunHooks {
	onEvent?: (event: RunEvent) => void;
	onLine?: OutputOptions['onLine'];
	/** Live copies of the job's streams (the CLI's terminal). */
	echo?: Partial<Record<StreamName, Writable>>;
}

interface Resolved {
	databasePath: string;
	file: string;
	args: string[];
	shell: false | string;
	cwd: string;
	timeoutMs: number;
	graceMs: number;
	waitMs: number;
	logFile?: string;
}

function isDirectory(path: string): boolean {
	try {
		return statSync(path).isDirectory();
	} catch {
		// Missing or unreadable: not a folder we can use; the caller words the message.
		return false;
	}
}

function isNonEmptyFile(path: string): boolean {
	try {
		return statSync(path).size > 0;
	} catch {
		// Missing: not a usable database file.
		return false;
	}
}

/** Checks everything before anything is created, so bad input leaves no trace. */
export function resolveRunOptions(options: RunOptions): Resolved {
	if (!options.databasePath) throw new UsageError('The database path is empty. Give the path of the DuckDB file.');
	const databasePath = resolve(options.databasePath);
	if (!isDirectory(dirname(databasePath))) {
		throw new UsageError(`The database folder ${dirname(databasePath)} does not exist. Create it, or fix the database path (${databasePath}).`);
	}
	if (isDirectory(databasePath)) throw new UsageError(`${databasePath} is a folder. Give the path of the DuckDB file itself.`);
	if (findWalFiles(databasePath).present && !isNonEmptyFile(databasePath)) {
		throw new UsageError(`${databasePath} is missing (or empty) but its WAL is there: a job opening it would make DuckDB discard the WAL's committed data. Restore the database file next to its WAL (or move the WAL files somewhere safe) before running.`);
	}
	const cwd = resolve(options.cwd ?? process.cwd());
	if (!isDirectory(cwd)) throw new UsageError(`The working directory ${cwd} does not exist. Create it, or fix the working directory.`);
	if (!options.command.length || !options.command[0]) throw new UsageError('No command to run. Give the program and its arguments.');
	const timeoutMs = options.timeoutMs ?? RUN_DEFAULTS.timeoutMs;
	const graceMs = options.graceMs ?? RUN_DEFAULTS.graceMs;
	const waitMs = options.waitMs ?? RUN_DEFAULTS.waitMs;
	if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`The timeout must be greater than zero (got ${timeoutMs} ms).`);
	if (timeoutMs > RUN_DEFAULTS.maxTimeoutMs) throw new UsageError(`The timeout is too long (${timeoutMs} ms); the most is 24 days.`);
	if (!Number.isFinite(graceMs) || graceMs < 0) throw new UsageError(`The grace period cannot be negative (got ${graceMs} ms).`);
	if (graceMs > timeoutMs) throw new UsageError(`The grace period (${graceMs} ms) is longer than the timeout (${timeoutMs} ms). Shorten the grace or raise the timeout.`);
	if (!Number.isFinite(waitMs) || waitMs < 0) throw new UsageError(`The lock wait cannot be negative (got ${waitMs} ms).`);
	const logFile = options.logFile ? resolve(options.logFile) : undefined;
	if (logFile && !isDirectory(dirname(logFile))) throw new UsageError(`The log file's folder ${dirname(logFile)} does not exist. Create it, or fix the log file path.`);
	const shell = options.shell === true ? RUN_DEFAULTS.shell : options.shell || false;
	// With a shell, command[0] is the line and the rest become $1, $2, ...: values are never spliced into the line.
	const [file, ...args] = shell ? [shell, '-c', options.command[0], 'sh', ...options.command.slice(1)] : options.command;
	return { databasePath, file, args, shell, cwd, timeoutMs, graceMs, waitMs, logFile };
}

function recoveredReport(entry: RecoveredLock): RecoveredLockReport {
	const previous = entry.previous;
	if (previous.kind === 'legacy') return { reason: entry.reason, detail: entry.detail, pid: previous.pid };
	const record = previous.record;
	return { reason: entry.reason, detail: entry.detail, pid: record.pid, command: record.command, host: record.host, owner: record.owner, lockedAt: record.lockedAt };
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
			source: 'pid-file',
		};
	}
	if (inspection.state === 'unreadable') {
		return { pid: null, host: '', command: '', role: 'unknown', identityProven: false, remote: false, source: 'pid-file', unreadable: true, detail: inspection.reason };
	}
	return undefined;
}

function abortReasonIsSignal(signal: AbortSignal | undefined): string | undefined {
	const reason: unknown = signal?.reason;
	return typeof reason === 'string' && reason.startsWith('SIG') ? reason : undefined;
}

/** Runs one job under the database lock and returns its Outcome. Throws only UsageError (bad options). */
export async function runUnderLock(options: RunOptions, hooks: RunHooks = {}): Promise<Outcome> {
	const resolved = resolveRunOptions(options);
	const started = Date.now();
	const base = {
		database: resolved.databasePath,
		command: options.command,
		shell: resolved.shell,
		cwd: resolved.cwd,
		timeoutMs: resolved.timeoutMs,
		graceMs: resolved.graceMs,
		startedAt: new Date(started).toISOString(),
	};
	const emptyStream = { tail: '', bytes: 0, truncated: false };
	const finish = (partial: Omit<Outcome, 'summary' | keyof typeof base | 'endedAt' | 'durationMs' | 'wal'> & { wal?: Outcome['wal'] }): Outcome => {
		const ended = Date.now();
		const body = { ...base, ...partial, wal: partial.wal ?? findWalFiles(resolved.databasePath), endedAt: new Date(ended).toISOString(), durationMs: ended - started };
		// status and summary first: they are what people read in a JSON line or an n8n item.
		const { status, ...rest } = body;
		return { status, summary: summarize(body), ...rest };
	};

	hooks.onEvent?.({ type: 'lock-check', pidFile: `${resolved.databasePath}.pid` });
	const acquisition = await acquireLock(resolved.databasePath, {
		owner: options.owner,
		command: [resolved.file, ...resolved.args].join(' '),
		waitMs: resolved.waitMs,
		signal: options.signal,
	});
	const recovered = acquisition.recovered.map(recoveredReport);
	const pidFile = `${resolved.databasePath}.pid`;
	if (!acquisition.acquired) {
		const holder = acquisition.reason === 'held' ? holderFromInspection(acquisition.inspection) : undefined;
		return finish({
			status: acquisition.reason === 'held' ? 'blocked' : 'canceled',
			exitCode: null,
			signal: null,
			jobPid: null,
			lock: { pidFile, acquired: false, waitedMs: acquisition.waitedMs, recovered, released: false },
			holder,
			output: { stdout: emptyStream, stderr: emptyStream },
		});
	}
	const lock = acquisition.lock;
	hooks.onEvent?.({ type: 'lock-acquired', pidFile, recovered, waitedMs: acquisition.waitedMs });
	const lockReport = (): Outcome['lock'] => ({ pidFile, acquired: true, waitedMs: acquisition.waitedMs, recovered, released: false });
	const active = { lock, group: undefined as GroupIdentity | undefined };
	const untrack = trackRun(active);
	let log: LogFile | undefined;
	let outcome: Outcome | undefined;
	try {
		if (options.signal?.aborted) {
			outcome = finish({ status: 'canceled', exitCode: null, signal: null, jobPid: null, lock: lockReport(), output: { stdout: emptyStream, stderr: emptyStream } });
			return outcome;
		}
		// Our PID file is ours now; DuckDB's own lock tells whether anyone else (an API server, a duckdb shell, an
		// orphaned job) still has the database. Checked before the job starts, so a probe's brief read lock is harmless.
		const others = lockHolders(await findDatabaseHolders(resolved.databasePath, { probe: true, includeOpen: false }));
		if (options.signal?.aborted) {
			outcome = finish({ status: 'canceled', exitCode: null, signal: null, jobPid: null, lock: lockReport(), output: { stdout: emptyStream, stderr: emptyStream } });
			return outcome;
		}
		if (others.length) {
			outcome = finish({
				status: 'blocked', exitCode: null, signal: null, jobPid: null, lock: lockReport(), holder: holderFromDatabase(others[0]),
				output: { stdout: emptyStream, stderr: emptyStream },
			});
			return outcome;
		}
		if (resolved.logFile) {
			log = new LogFile(resolved.logFile);
			log.write(`--- ${new Date().toISOString()} duckdb-safe-ingest: starting ${[resolved.file, ...resolved.args].join(' ')}\n`);
		}
		const job = await startJob({ file: resolved.file, args: resolved.args, cwd: resolved.cwd, env: options.env ?? {} });
		if (!('pid' in job)) {
			outcome = finish({
				status: 'failed', exitCode: job.exitCode, signal: null, jobPid: null, lock: lockReport(), error: job.error,
				output: { stdout: emptyStream, stderr: emptyStream, logFile: resolved.logFile },
			});
			return outcome;
		}
		const leader = readProcess(job.pid, { details: false });
		const group: GroupIdentity = { pgid: job.pid, leaderStartTicks: leader?.startTicks };
		active.group = group;
		lock.recordJob({ pid: job.pid, startTicks: leader?.startTicks, pgid: job.pid, command: [resolved.file, ...resolved.args].join(' ') });
		hooks.onEvent?.({ type: 'job-started', pid: job.pid, command: options.command });

		const sinks = (name: StreamName): Writable[] => (hooks.echo?.[name] ? [hooks.echo[name]] : []);
		const outputOptions: OutputOptions = { tailBytes: options.tailBytes, onLine: hooks.onLine, log, sinks: { stdout: sinks('stdout'), stderr: sinks('stderr') } };
		const pumps = [new OutputPump(job.stdout, 'stdout', outputOptions), new OutputPump(job.stderr, 'stderr', outputOptions)];

		let stopping: ReturnType<typeof stopGroup> | undefined;
		const stop = (reason: Termination['reason']): void => {
			if (stopping) return;
			hooks.onEvent?.({ type: 'job-stopping', reason });
			stopping = stopGroup(group, resolved.graceMs, reason);
		};
		const deadline = setTimeout(() => stop('timeout'), resolved.timeoutMs);
		const onAbort = (): void => stop(abortReasonIsSignal(options.signal) ? 'supervisor-signal' : 'canceled');
		options.signal?.addEventListener('abort', onAbort, { once: true });
		// A cancel that came while the job was being started has no event left to fire.
		if (options.signal?.aborted) onAbort();
		let exit: { exitCode: number | null; signal: NodeJS.Signals | null };
		try {
			exit = await job.exited;
		} finally {
			clearTimeout(deadline);
			options.signal?.removeEventListener('abort', onAbort);
		}
		// The main process is gone; anything left in its group (background children) is stopped too.
		if (!stopping && groupAlive(group.pgid)) stop('stray-processes');
		const termination = stopping ? await stopping.done : undefined;
		const drained = Promise.all(pumps.map((pump) => pump.ended));
		await Promise.race([drained, new Promise((resolveDrain) => setTimeout(resolveDrain, RUN_DEFAULTS.drainMs).unref())]);
		for (const pump of pumps) pump.abandon();
		hooks.onEvent?.({ type: 'job-finished', exitCode: exit.exitCode, signal: exit.signal, durationMs: Date.now() - started });

		const stoppedBy = termination?.reason;
		const status: Outcome['status'] =
			stoppedBy === 'timeout' ? 'timeout'
			: stoppedBy === 'canceled' || stoppedBy === 'supervisor-signal' ? 'canceled'
			: exit.exitCode === 0 ? 'success'
			: 'failed';
		log?.close(`--- ${new Date().toISOString()} duckdb-safe-ingest: ${status} (exit ${exit.exitCode ?? exit.signal})\n`);
		outcome = finish({
			status,
			exitCode: exit.exitCode,
			signal: exit.signal,
			jobPid: job.pid,
			lock: lockReport(),
			termination,
			output: { stdout: pumps[0].tail.summary(), stderr: pumps[1].tail.summary(), logFile: resolved.logFile, logError: log?.failure },
		});
		return outcome;
	} finally {
		// Whatever happened above (including a bug of ours), never leave the job running without its lock.
		let survivors = false;
		if (active.group && groupAlive(active.group.pgid)) {
			signalGroup(active.group, 'SIGKILL');
			for (let i = 0; i < 250 && groupAlive(active.group.pgid); i++) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
			survivors = groupAlive(active.group.pgid);
		}
		log?.close();
		untrack();
		// Processes that survive SIGKILL (stuck in the kernel) may still write: the lock stays, naming their group.
		const release = survivors
			? { released: false as const, detail: `process group ${active.group?.pgid} survived SIGKILL; the lock is kept until it is gone (duckdb-lock-cleanup removes it then)` }
			: lock.release();
		const note = release.released ? undefined : release.detail;
		if (outcome) {
			outcome.lock.released = release.released;
			outcome.lock.releaseNote = note;
		}
		hooks.onEvent?.({ type: 'lock-released', pidFile, released: release.released, note });
	}
}
