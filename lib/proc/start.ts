/**
 * The one place that starts a job: argv (no shell unless asked), its own process group (detached), pipes for
 * stdout and stderr, no stdin. execa 9 does the spawning (it is ESM-only, so it is loaded with a dynamic import,
 * which keeps this CommonJS build loadable on Node 20.19+ and 24).
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { EXIT_CODES } from '../outcome/outcome';
import { REDIS_URL_ENV } from '../run/options';

export interface JobSpec {
	file: string;
	args: string[];
	cwd: string;
	env: Record<string, string>;
	/** Which of our variables the job inherits; absent: all (the Redis URL variable never). */
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
	exitCode: typeof EXIT_CODES.notFound | typeof EXIT_CODES.notExecutable | 1;
	error: string;
}

type Execa = typeof import('execa', { with: { 'resolution-mode': 'import' } }).execa;
let execaLoaded: Promise<Execa> | undefined;
function loadExeca(): Promise<Execa> {
	execaLoaded ??= import('execa').then((module) => module.execa);
	return execaLoaded;
}

export async function startJob(spec: JobSpec): Promise<StartedJob | FailedStart> {
	const execa = await loadExeca();
	// Our environment as the caller's policy lets through, minus the Redis URL `--redis env` reads (its password is kept
	// out of ps, and out of the job), plus the job's own variables.
	const inherited: NodeJS.ProcessEnv = {};
	for (const [name, value] of Object.entries(process.env)) {
		if (name !== REDIS_URL_ENV && (spec.inheritEnv?.(name) ?? true)) inherited[name] = value;
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
			return { exitCode: EXIT_CODES.notFound, error: `command not found: ${spec.file}. Check the spelling, or give its absolute path` };
		}
		if (code === 'EACCES') {
			return { exitCode: EXIT_CODES.notExecutable, error: `command not executable: ${spec.file}. Make it executable (chmod +x) or run it through its interpreter` };
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

export interface ScriptResult<T> {
	/** The JSON object on the script's last stdout line, when there is one. */
	reply?: T;
	exitCode?: number;
	timedOut: boolean;
	stderr: string;
}

/** Runs a short-lived Node helper of ours (a direct child, no group of its own) and reads its JSON reply. */
export async function runNodeScript<T>(script: string, args: string[], timeoutMs: number): Promise<ScriptResult<T>> {
	const execa = await loadExeca();
	const result = await execa(process.execPath, [script, ...args], { timeout: timeoutMs, reject: false, stdin: 'ignore' });
	const last = String(result.stdout ?? '').trimEnd().split('\n').pop() ?? '';
	let reply: T | undefined;
	try {
		reply = last.startsWith('{') ? (JSON.parse(last) as T) : undefined;
	} catch {
		reply = undefined;
	}
	return { reply, exitCode: result.exitCode, timedOut: Boolean(result.timedOut), stderr: String(result.stderr ?? '') };
}
