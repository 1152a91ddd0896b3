/**
 * The one place that starts a job: argv (no shell unless asked), its own process group (detached), pipes for
 * stdout and stderr, no stdin. execa 9 does the spawning.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { loadExeca } from './execa';

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
}

export interface FailedStart {
	exitCode: typeof START_FAILURE_EXIT.notFound | typeof START_FAILURE_EXIT.notExecutable | 1;
	error: string;
}

export async function startJob(spec: JobSpec): Promise<StartedJob | FailedStart> {
	const execa = await loadExeca();
	// Our environment as far as the caller's policy lets it through, plus the job's own variables.
	const inherited: NodeJS.ProcessEnv = {};
	for (const [name, value] of Object.entries(process.env)) {
		if (spec.inheritEnv?.(name) ?? true) inherited[name] = value;
	}
	const subprocess = execa(spec.file, spec.args, {
		cwd: spec.cwd,
		env: { ...inherited, ...spec.env },
		extendEnv: false,
		detached: true,
		// We stop the job group ourselves (timeout, cancel, our exit hook); execa's own cleanup does not apply to detached jobs.
		cleanup: false,
		buffer: false,
		reject: false,
		stdin: 'ignore',
		stdout: 'pipe',
		stderr: 'pipe',
		stripFinalNewline: false,
	});
	const child = subprocess as unknown as ChildProcess;
	if (child.pid === undefined) {
		const result = await subprocess;
		const code = (result as { code?: string }).code;
		if (code === 'ENOENT') {
			return {
				exitCode: START_FAILURE_EXIT.notFound,
				error: `command not found: ${spec.file}. Check the spelling, or give its absolute path`,
			};
		}
		if (code === 'EACCES') {
			return {
				exitCode: START_FAILURE_EXIT.notExecutable,
				error: `command not executable: ${spec.file}. Make it executable (chmod +x) or run it through its interpreter`,
			};
		}
		return { exitCode: 1, error: `could not start ${spec.file}: ${result.shortMessage ?? code ?? 'unknown error'}` };
	}
	// The result promise settles when the pipes close; nothing waits on it, so keep it from ever being unhandled.
	subprocess.catch(() => undefined);
	const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve) => {
		child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
	});
	return { pid: child.pid, stdout: child.stdout!, stderr: child.stderr!, exited };
}
