/**
 * runUnderLock: the order of events of one supervised run.
 *
 *   acquire the lock (optional wait) → start the job in its own process group → record the job in the PID file →
 *   wait, with a wall-clock deadline and the cancel signal → stop the group (TERM, grace, KILL) when needed →
 *   release the lock on every path.
 */
import { takeDatabaseLock, redisKeyFor } from '../lock/take-lock';
import { keepLease, type LeaseKeeper } from '../lock/lease';
import { groupAlive, type GroupIdentity } from '../proc/group';
import { readProcess } from '../proc/identity';
import type { Outcome, RecoveredLockReport } from '../outcome/outcome';
import { summarize } from '../outcome/summary';
import { findWalFiles } from '../base/wal-files';
import { JOB_PROOF_ENV } from '../lock/pid-file-format';
import { messageOf } from '../base/errors';

import { maskSecrets, redactUrlPasswords } from '../base/mask';
import { LogFile, OutputPump, type OutputOptions, type StreamName } from './output';
import { startJob } from '../proc/start';
import { stopGroup, type Termination } from '../proc/stop';
import { trackRun } from './guard';
import { findDatabaseHolders, lockHolders } from '../duckdb/database-holders';
import { REDIS_URL_ENV, resolveRunOptions, RUN_DEFAULTS, type RunOptions } from './options';
import { holderFromDatabase, holderFromInspection, recoveredReport } from '../outcome/holder-reports';

export { RUN_DEFAULTS, resolveRunOptions, type RunOptions };
import type { Writable } from 'node:stream';
import { sleep } from '../base/sleep';

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

/**
 * The secrets a run's options carry: the values of the job's extra environment (the node puts its Job Secrets
 * credential there; the options do not say which value is secret, so all are treated as such) and the Redis password.
 */
function secretsOf(options: RunOptions): string[] {
	const secrets = Object.values(options.env ?? {});
	if (options.redis) {
		try {
			const password = new URL(options.redis.url).password;
			if (password) secrets.push(password, decodeURIComponent(password));
		} catch {
			// Not a parseable URL (rejected before this is used): redactUrlPasswords still covers the usual form.
		}
	}
	return secrets;
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
		operation: options.operation ?? 'runCommand',
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

	// Everything written down where others read it (PID file, Redis holder, log file) has the run's secrets masked:
	// the job's command line, and ours (a CLI's `--env NAME=VALUE`).
	const secrets = secretsOf(options);
	const mask = (text: string): string => redactUrlPasswords(maskSecrets(text, secrets));
	const recordedCommand = mask([resolved.file, ...resolved.args].join(' '));
	hooks.onEvent?.({ type: 'lock-check', pidFile: `${resolved.databasePath}.pid` });
	const acquisition = await takeDatabaseLock(resolved.databasePath, {
		owner: options.owner,
		command: recordedCommand,
		waitMs: resolved.waitMs,
		signal: options.signal,
		heartbeatMs: resolved.heartbeatMs,
		staleAfterMs: resolved.staleAfterMs,
		redis: options.redis,
		mask,
	});
	const recovered = acquisition.recovered.map(recoveredReport);
	const pidFile = `${resolved.databasePath}.pid`;
	const backend = { backend: options.redis ? ('redis' as const) : ('file' as const), redisKey: options.redis ? redisKeyFor(resolved.databasePath, options.redis) : undefined };
	if (!acquisition.acquired) {
		const holder = acquisition.reason === 'held' ? holderFromInspection(acquisition.inspection) : undefined;
		return finish({
			status: acquisition.reason === 'canceled' ? 'canceled' : 'blocked',
			exitCode: null,
			signal: null,
			jobPid: null,
			lock: { pidFile, ...backend, acquired: false, waitedMs: acquisition.waitedMs, recovered, released: false },
			holder,
			error: acquisition.reason === 'unavailable' ? acquisition.detail : undefined,
			output: { stdout: emptyStream, stderr: emptyStream },
		});
	}
	const lock = acquisition.lock;
	hooks.onEvent?.({ type: 'lock-acquired', pidFile, recovered, waitedMs: acquisition.waitedMs });
	const lockReport = (): Outcome['lock'] => ({ pidFile, ...backend, acquired: true, waitedMs: acquisition.waitedMs, recovered, released: false, lease: lease.report });
	const active = { lock, group: undefined as GroupIdentity | undefined };
	// The lease is renewed from here, the supervisor, whatever the job is busy with, from the moment the lock is ours.
	// Losing it stops the job at once (SIGKILL, no grace): before the lease can run out, so two writers never run.
	let onLockLost: () => void = () => undefined;
	let lockLost = false;
	const lease: LeaseKeeper = keepLease(lock, () => {
		lockLost = true;
		onLockLost();
	});
	/** Why the started job could not be recorded in the lock (it is then stopped like on a lost lock). */
	let unrecorded: string | undefined;
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
		const others = lockHolders(await findDatabaseHolders(resolved.databasePath, { probe: options.probeDatabase !== false, includeOpen: false }));
		if (options.signal?.aborted) {
			outcome = finish({ status: 'canceled', exitCode: null, signal: null, jobPid: null, lock: lockReport(), output: { stdout: emptyStream, stderr: emptyStream } });
			return outcome;
		}
		if (lockLost) {
			outcome = finish({
				status: 'failed', exitCode: null, signal: null, jobPid: null, lock: lockReport(), error: `the lock was lost before the job started (${lease.report.lost}); nothing was run`,
				output: { stdout: emptyStream, stderr: emptyStream },
			});
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
			try {
				log = new LogFile(resolved.logFile);
			} catch (error) {
				// Checked before the lock was taken; this is a change since then (removed folder, new permissions).
				outcome = finish({
					status: 'failed', exitCode: null, signal: null, jobPid: null, lock: lockReport(), error: `the log file ${resolved.logFile} cannot be opened (${messageOf(error)}); nothing was run`,
					output: { stdout: emptyStream, stderr: emptyStream, logFile: resolved.logFile },
				});
				return outcome;
			}
			log.write(`--- ${new Date().toISOString()} duckdb-safe-ingest: starting ${recordedCommand}\n`);
		}
		// The lock file and its token go into the job's environment: the cleanup's proof that a process is this job.
		const proof = { [JOB_PROOF_ENV.lockFile]: lock.pidFile, [JOB_PROOF_ENV.token]: lock.token };
		// The Redis URL `--redis env` reads never reaches the job (its password is kept out of ps, and out of the job).
		const inheritEnv = (name: string): boolean => name !== REDIS_URL_ENV && (options.inheritEnv?.(name) ?? true);
		const job = await startJob({ file: resolved.file, args: resolved.args, cwd: resolved.cwd, env: { ...options.env, ...proof }, inheritEnv });
		if (!('pid' in job)) {
			outcome = finish({
				status: 'failed', exitCode: job.exitCode, signal: null, jobPid: null, lock: lockReport(), error: job.error,
				output: { stdout: emptyStream, stderr: emptyStream, logFile: resolved.logFile },
			});
			return outcome;
		}
		// Read the job's output from the first moment, before anything is awaited: a quick job may be gone already,
		// and its output must not be left to whoever drains an unread pipe.
		const sinks = (name: StreamName): Writable[] => (hooks.echo?.[name] ? [hooks.echo[name]] : []);
		const outputOptions: OutputOptions = { tailBytes: options.tailBytes, onLine: hooks.onLine, log, sinks: { stdout: sinks('stdout'), stderr: sinks('stderr') } };
		const pumps = [new OutputPump(job.stdout, 'stdout', outputOptions), new OutputPump(job.stderr, 'stderr', outputOptions)];
		const leader = readProcess(job.pid, { details: false });
		const group: GroupIdentity = { pgid: job.pid, leaderStartTicks: leader?.startTicks };
		active.group = group;

		// The job runs from here: the deadline, a lost lock and a cancel apply at once, before the job is recorded
		// (with Redis, recording it is a round trip that can take seconds).
		let stopping: ReturnType<typeof stopGroup> | undefined;
		const stop = (reason: Termination['reason']): void => {
			if (stopping) return;
			hooks.onEvent?.({ type: 'job-stopping', reason });
			stopping = stopGroup(group, reason === 'lock-lost' ? 0 : resolved.graceMs, reason);
		};
		const deadline = setTimeout(() => stop('timeout'), resolved.timeoutMs);
		onLockLost = () => stop('lock-lost');
		if (lockLost) onLockLost();
		const onAbort = (): void => stop(abortReasonIsSignal(options.signal) ? 'supervisor-signal' : 'canceled');
		options.signal?.addEventListener('abort', onAbort, { once: true });
		// A cancel that came while the job was being started has no event left to fire.
		if (options.signal?.aborted) onAbort();
		let exit: { exitCode: number | null; signal: NodeJS.Signals | null };
		try {
			try {
				await lock.recordJob({ pid: job.pid, startTicks: leader?.startTicks, pgid: job.pid, command: recordedCommand });
			} catch (error) {
				// Our PID file is gone or another holder's now (someone judged it stale), or it cannot be written.
				unrecorded = messageOf(error);
			}
			hooks.onEvent?.({ type: 'job-started', pid: job.pid, command: options.command });
			// A job the lock does not name must not go on writing: stopped at once, like on a lost lock.
			if (unrecorded) stop('lock-lost');
			exit = await job.exited;
		} finally {
			clearTimeout(deadline);
			options.signal?.removeEventListener('abort', onAbort);
		}
		// The main process is gone; anything left in its group (background children) is stopped too.
		if (!stopping && groupAlive(group.pgid)) stop('stray-processes');
		const termination = stopping ? await stopping.done : undefined;
		const drained = Promise.all(pumps.map((pump) => pump.ended));
		const drainWait = new AbortController();
		await Promise.race([drained, sleep(RUN_DEFAULTS.drainMs, drainWait.signal)]);
		drainWait.abort();
		for (const pump of pumps) pump.abandon();
		hooks.onEvent?.({ type: 'job-finished', exitCode: exit.exitCode, signal: exit.signal, durationMs: Date.now() - started });

		const stoppedBy = termination?.reason;
		const lostLock =
			stoppedBy !== 'lock-lost' ? undefined
			: unrecorded ? `the job could not be recorded in the lock (${unrecorded}); it was stopped at once so that two writers never run`
			: `the lock was lost while the job ran (${lease.report.lost}); the job was stopped so that two writers never run`;
		const status: Outcome['status'] =
			lostLock ? 'failed'
			: stoppedBy === 'timeout' ? 'timeout'
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
			error: lostLock,
			output: { stdout: pumps[0].tail.summary(), stderr: pumps[1].tail.summary(), logFile: resolved.logFile, logError: log?.failure },
		});
		return outcome;
	} finally {
		lease.stop();
		// Whatever happened above (including a bug of ours), never leave the job running without its lock.
		let survivors = false;
		if (active.group && groupAlive(active.group.pgid)) {
			// The lock is released below: the job is stopped as on a lost lock, at once (SIGTERM and SIGKILL, no grace).
			await stopGroup(active.group, 0, 'lock-lost').done;
			survivors = groupAlive(active.group.pgid);
		}
		log?.close();
		untrack();
		// Processes that survive SIGKILL (stuck in the kernel) may still write: the lock stays, naming their group.
		if (survivors) lock.abandon();
		const release = survivors
			? { released: false as const, detail: `process group ${active.group?.pgid} survived SIGKILL; the PID file is kept until it is gone (duckdb-lock-cleanup removes it then)${options.redis ? '; the Redis lease runs out by itself' : ''}` }
			: await lock.release();
		const note = release.released ? undefined : release.detail;
		if (outcome) {
			outcome.lock.released = release.released;
			outcome.lock.releaseNote = note;
		}
		hooks.onEvent?.({ type: 'lock-released', pidFile, released: release.released, note });
	}
}
