/**
 * The one place that starts a job: argv (no shell unless asked), its own process group (detached), pipes for
 * stdout and stderr, no stdin, through the gate below. execa 9 does the spawning.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { loadExeca } from './execa';
import { lookupCommand } from './which';

/** GNU timeout's and the shells' exit codes for a command that could not be started. */
export const START_FAILURE_EXIT = { notFound: 127, notExecutable: 126 } as const;

export interface JobSpec {
	file: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	/** Which of our variables the job inherits; absent: all. */
	inheritEnv?: (name: string) => boolean;
}

export interface StartedJob {
	pid: number;
	stdout: Readable;
	stderr: Readable;
	/** Resolves when the job's main process has exited (and been reaped). */
	exited: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
	/** Lets the gate exec the job's program (once the lock names the job). */
	release(): void;
	/** Makes the gate exit without running anything (the job could not be recorded). */
	abort(): void;
}

export interface FailedStart {
	exitCode: typeof START_FAILURE_EXIT.notFound | typeof START_FAILURE_EXIT.notExecutable | 1;
	error: string;
}

/**
 * The gate every job starts through: a tiny /bin/sh (present in every image, BusyBox included) that waits on a pipe
 * of its own (fd 3) for "run" and then execs the job: same PID, so the supervisor can record the job's PID, start
 * time and group in the lock before the job's program runs. If the supervisor dies first, the pipe closes and the
 * gate exits (125) without running anything. fd 3 is closed before the exec: the job never sees it.
 */
const GATE_SHELL = '/bin/sh';
const GATE_WAIT = 'IFS= read -r go <&3 || exit 125; [ "$go" = run ] || exit 125; exec 3<&-';
/** Variables a shell sets by itself (dash: PWD; BusyBox ash: PWD, SHLVL, PATH): put back as given before the exec. */
const SHELL_SET = ['PWD', 'OLDPWD', 'SHLVL', 'PATH'];

function quote(value: string): string {
	return `'${value.replace(/'/g, "'\\''")}'`;
}

/** The gate's script for this environment: the job gets exactly the environment it was given, nothing the shell added. */
export function gateScript(env: NodeJS.ProcessEnv): string {
	const restore = SHELL_SET.map((name) =>
		env[name] === undefined ? `unset ${name}` : `export ${name}=${quote(env[name])}`,
	);
	return `${GATE_WAIT}; ${restore.join('; ')}; exec "$@"`;
}

/** A command that cannot run is told apart before anything starts: 127 not found, 126 not executable. */
function cannotRun(spec: JobSpec, env: NodeJS.ProcessEnv): FailedStart | undefined {
	const lookup = lookupCommand(spec.file, env.PATH, spec.cwd);
	if (lookup.kind === 'not-found')
		return {
			exitCode: START_FAILURE_EXIT.notFound,
			error: `command not found: ${spec.file}. Check the spelling, or give its absolute path`,
		};
	if (lookup.kind === 'not-executable')
		return {
			exitCode: START_FAILURE_EXIT.notExecutable,
			error: `command not executable: ${spec.file}. Make it executable (chmod +x) or run it through its interpreter`,
		};
	return undefined;
}

export async function startJob(spec: JobSpec): Promise<StartedJob | FailedStart> {
	const execa = await loadExeca();
	// Our environment as far as the caller's policy lets it through, plus the job's own variables.
	const env: NodeJS.ProcessEnv = {};
	for (const [name, value] of Object.entries(process.env)) {
		if (spec.inheritEnv?.(name) ?? true) env[name] = value;
	}
	Object.assign(env, spec.env);
	const failed = cannotRun(spec, env);
	if (failed) return failed;
	const subprocess = execa(GATE_SHELL, ['-c', gateScript(env), 'gate', spec.file, ...spec.args], {
		cwd: spec.cwd,
		env,
		extendEnv: false,
		detached: true,
		// We stop the job group ourselves (timeout, cancel, our exit hook); execa's own cleanup does not apply to detached jobs.
		cleanup: false,
		buffer: false,
		reject: false,
		stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
		stripFinalNewline: false,
	});
	const child = subprocess as unknown as ChildProcess;
	if (child.pid === undefined) {
		const result = await subprocess;
		return {
			exitCode: 1,
			error: `could not start ${spec.file}: ${result.shortMessage ?? (result as { code?: string }).code ?? 'unknown error'}`,
		};
	}
	// The result promise settles when the pipes close; nothing waits on it, so keep it from ever being unhandled.
	subprocess.catch(() => undefined);
	const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
		child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
	});
	const gate = child.stdio[3] as Writable;
	// A gate that is gone already (stopped meanwhile) makes the write fail: nothing to run then.
	gate.on('error', () => undefined);
	return {
		pid: child.pid,
		stdout: child.stdout!,
		stderr: child.stderr!,
		exited,
		release: () => void gate.end('run\n'),
		abort: () => void gate.end(),
	};
}
