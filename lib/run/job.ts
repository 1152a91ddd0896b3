/**
 * The job phases of a run: start the job in its own process group (its environment carries the lock's proof),
 * watch it (the wall-clock deadline, the cancel signal, a lost lock, all from the moment it exists), stop its whole
 * group when needed (TERM, grace, KILL), and read its output to the end.
 */
import type { Writable } from 'node:stream';
import { messageOf } from '../base/errors';
import { failpoint } from '../base/failpoint';
import { sleep } from '../base/sleep';
import { JOB_PROOF_ENV } from '../lock/pid-file-format';
import { groupAlive, type GroupIdentity } from '../proc/group';
import { readProcess } from '../proc/identity';
import { startJob, type StartedJob } from '../proc/start';
import { stopGroup, type Termination } from '../proc/stop';
import { decideRunStatus } from '../outcome/status';
import type { OutcomeBody, RunContext } from './context';
import { EMPTY_STREAM, notStarted } from './context';
import type { RunHooks } from './events';
import type { HeldRunLock } from './held-lock';
import { REDIS_URL_ENV, RUN_DEFAULTS, WAIT_UNTIL_ENV } from './options';
import { OutputPump, type LogFile, type OutputOptions, type StreamName } from './output';

function abortReasonIsSignal(signal: AbortSignal | undefined): string | undefined {
	const reason: unknown = signal?.reason;
	return typeof reason === 'string' && reason.startsWith('SIG') ? reason : undefined;
}

function start(run: RunContext, held: HeldRunLock): ReturnType<typeof startJob> {
	const { resolved, options } = run;
	// The lock file and its token go into the job's environment: the cleanup's proof that a process is this job.
	const proof = { [JOB_PROOF_ENV.lockFile]: held.lock.pidFile, [JOB_PROOF_ENV.token]: held.lock.token };
	const wait: Record<string, string> = options.passWaitDeadline ? { [WAIT_UNTIL_ENV]: String(held.waitUntilMs) } : {};
	// The Redis URL `--redis env` reads never reaches the job (its password is kept out of ps, and out of the job).
	const inheritEnv = (name: string): boolean => name !== REDIS_URL_ENV && (options.inheritEnv?.(name) ?? true);
	return startJob({
		file: resolved.file,
		args: resolved.args,
		cwd: resolved.cwd,
		env: { ...options.env, ...proof, ...wait },
		inheritEnv,
	});
}

/** The wall-clock deadline: armed when the job is watched, started over by the lines the run names. */
class Deadline {
	private timer?: NodeJS.Timeout;
	private fire?: () => void;

	constructor(private readonly ms: number) {}

	arm(fire: () => void): void {
		this.fire = fire;
		this.restart();
	}

	restart(): void {
		if (!this.fire) return;
		clearTimeout(this.timer);
		this.timer = setTimeout(this.fire, this.ms);
	}

	clear(): void {
		clearTimeout(this.timer);
		this.fire = undefined;
	}
}

/** The line callback: the caller's, and the deadline's restart on the lines that ask for it. */
function linesFor(run: RunContext, hooks: RunHooks, deadline: Deadline): OutputOptions['onLine'] {
	const restarts = run.options.timeoutRestartsOn;
	if (!restarts) return hooks.onLine;
	return (stream, line) => {
		if (restarts(stream, line)) deadline.restart();
		hooks.onLine?.(stream, line);
	};
}

/** Reads the job's output from the first moment: a quick job may be gone already, its output must not be lost. */
function pumpsFor(
	job: StartedJob,
	run: RunContext,
	hooks: RunHooks,
	log: LogFile | undefined,
	deadline: Deadline,
): OutputPump[] {
	const sinks = (name: StreamName): Writable[] => (hooks.echo?.[name] ? [hooks.echo[name]] : []);
	const options: OutputOptions = {
		tailBytes: run.options.tailBytes,
		onLine: linesFor(run, hooks, deadline),
		log,
		sinks: { stdout: sinks('stdout'), stderr: sinks('stderr') },
	};
	return [new OutputPump(job.stdout, 'stdout', options), new OutputPump(job.stderr, 'stderr', options)];
}

/** The one stop of a job, whatever asks first (deadline, cancel, lost lock, stray processes). */
class JobStopper {
	private stopping?: ReturnType<typeof stopGroup>;

	constructor(
		private readonly group: GroupIdentity,
		private readonly graceMs: number,
		private readonly hooks: RunHooks,
	) {}

	stop(reason: Termination['reason']): void {
		if (this.stopping) return;
		this.hooks.onEvent?.({ type: 'job-stopping', reason });
		this.stopping = stopGroup(this.group, reason === 'lock-lost' ? 0 : this.graceMs, reason);
	}

	get started(): boolean {
		return this.stopping !== undefined;
	}

	done(): Promise<Termination | undefined> {
		return this.stopping?.done ?? Promise.resolve(undefined);
	}
}

/** Waits for the job's exit with every reason to stop it armed; says why it could not be recorded in the lock. */
async function watch(
	run: RunContext,
	held: HeldRunLock,
	job: StartedJob,
	group: GroupIdentity,
	stopper: JobStopper,
	hooks: RunHooks,
	deadline: Deadline,
) {
	const { options } = run;
	deadline.arm(() => stopper.stop('timeout'));
	held.onLost(() => stopper.stop('lock-lost'));
	const onAbort = (): void => stopper.stop(abortReasonIsSignal(options.signal) ? 'supervisor-signal' : 'canceled');
	options.signal?.addEventListener('abort', onAbort, { once: true });
	// A cancel that came while the job was being started has no event left to fire.
	if (options.signal?.aborted) onAbort();
	let unrecorded: string | undefined;
	try {
		try {
			await held.lock.recordJob({
				pid: job.pid,
				startTicks: group.leaderStartTicks,
				pgid: job.pid,
				command: run.recordedCommand,
			});
			failpoint('job-recorded');
		} catch (error) {
			// Our PID file is gone or another holder's now (someone judged it stale), or it cannot be written.
			unrecorded = messageOf(error);
		}
		// The job's program runs only now that the lock names it, and only if nothing stopped it meanwhile.
		if (unrecorded || stopper.started) job.abort();
		else job.release();
		failpoint('gate-released');
		hooks.onEvent?.({ type: 'job-started', pid: job.pid, command: options.command });
		// A job the lock does not name never runs; its gate is stopped at once, like on a lost lock.
		if (unrecorded) stopper.stop('lock-lost');
		const exit = await job.exited;
		failpoint('job-exited');
		return { exit, unrecorded };
	} finally {
		deadline.clear();
		options.signal?.removeEventListener('abort', onAbort);
	}
}

/** After the group is gone, the pipes: escaped processes may hold them open, so the wait is bounded. */
async function drain(pumps: OutputPump[]): Promise<void> {
	const wait = new AbortController();
	await Promise.race([Promise.all(pumps.map((pump) => pump.ended)), sleep(RUN_DEFAULTS.drainMs, wait.signal)]);
	wait.abort();
	for (const pump of pumps) pump.abandon();
}

function lostLockError(
	stoppedBy: Termination['reason'] | undefined,
	unrecorded: string | undefined,
	lost: string | undefined,
): string | undefined {
	if (stoppedBy !== 'lock-lost') return undefined;
	if (unrecorded)
		return `the job could not be recorded in the lock (${unrecorded}); it was stopped at once so that two writers never run`;
	return `the lock was lost while the job ran (${lost}); the job was stopped so that two writers never run`;
}

/** Starts, watches and stops the job; the outcome's body (the lock report is the caller's). */
export async function runJob(
	run: RunContext,
	held: HeldRunLock,
	log: LogFile | undefined,
	hooks: RunHooks,
): Promise<OutcomeBody> {
	const job = await start(run, held);
	const jobStartedMs = Date.now();
	const logFile = run.resolved.logFile;
	if (!('pid' in job))
		return notStarted({
			status: 'failed',
			exitCode: job.exitCode,
			lock: held.report(),
			error: job.error,
			output: { stdout: EMPTY_STREAM, stderr: EMPTY_STREAM, logFile },
		});
	failpoint('gate-started');
	const deadline = new Deadline(run.resolved.timeoutMs);
	const pumps = pumpsFor(job, run, hooks, log, deadline);
	const group: GroupIdentity = {
		pgid: job.pid,
		leaderStartTicks: readProcess(job.pid, { details: false })?.startTicks,
	};
	held.watchGroup(group);
	const stopper = new JobStopper(group, run.resolved.graceMs, hooks);
	const { exit, unrecorded } = await watch(run, held, job, group, stopper, hooks, deadline);
	// The main process is gone; anything left in its group (background children) is stopped too.
	if (!stopper.started && groupAlive(group.pgid)) stopper.stop('stray-processes');
	const termination = await stopper.done();
	await drain(pumps);
	hooks.onEvent?.({
		type: 'job-finished',
		exitCode: exit.exitCode,
		signal: exit.signal,
		durationMs: Date.now() - jobStartedMs,
	});
	const error = lostLockError(termination?.reason, unrecorded, held.lost);
	const status = decideRunStatus({ exitCode: exit.exitCode, stoppedBy: termination?.reason, lockLost: error });
	log?.close(`--- ${new Date().toISOString()} duckdb-safe-ingest: ${status} (exit ${exit.exitCode ?? exit.signal})\n`);
	const output = { stdout: pumps[0].tail.summary(), stderr: pumps[1].tail.summary(), logFile, logError: log?.failure };
	return {
		status,
		exitCode: exit.exitCode,
		signal: exit.signal,
		jobPid: job.pid,
		lock: held.report(),
		termination,
		error,
		output,
	};
}
