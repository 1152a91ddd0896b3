/**
 * Running a hook command once (the Before and After hooks of a run): an executable and its arguments, never a shell,
 * in a process group of its own, with the outcome on its stdin, a bounded time, and its whole group stopped (TERM,
 * then KILL at once) when that time runs out.
 */
import type { ChildProcess } from 'node:child_process';
import { loadExeca } from './execa';
import { sleep } from '../base/sleep';
import { stopTarget } from './stop';
import { groupAlive } from './group';

export interface HookCommand {
	file: string;
	args: string[];
	/** Written to its stdin (the After hook gets the outcome record). */
	input?: string;
	/** Added to our environment. */
	env: Record<string, string>;
	/** Which variables of our environment it inherits (absent: all). */
	inheritEnv?: (name: string) => boolean;
	/** Its working directory (absent: ours). */
	cwd?: string;
	timeoutMs: number;
	signal?: AbortSignal;
}

export interface HookCommandResult {
	exitCode?: number;
	signal?: string;
	timedOut: boolean;
	/** The end of what it printed, for the report. */
	output: string;
	/** It could not be started (not found, not executable). */
	error?: string;
}

/** How long the output pipes may stay open after the command exited (a descendant that left its group holds them). */
export const HOOK_DRAIN_MS = 500;

export async function runHookCommand(command: HookCommand): Promise<HookCommandResult> {
	const execa = await loadExeca();
	const inherited = Object.entries(process.env).filter(
		(entry): entry is [string, string] => entry[1] !== undefined && (command.inheritEnv?.(entry[0]) ?? true),
	);
	const subprocess = execa(command.file, command.args, {
		env: { ...Object.fromEntries(inherited), ...command.env },
		extendEnv: false,
		cwd: command.cwd,
		input: command.input ?? '',
		detached: true,
		cleanup: false,
		reject: false,
		all: true,
		stripFinalNewline: false,
		maxBuffer: 1024 * 1024,
	});
	subprocess.catch(() => undefined);
	const child = subprocess as unknown as ChildProcess;
	let timedOut = false;
	const stop = (): void => {
		if (child.pid === undefined || timedOut || child.exitCode !== null || child.signalCode !== null) return;
		timedOut = true;
		void stopTarget({ group: { pgid: child.pid } }, { graceMs: 0 }).done;
	};
	const timer = setTimeout(stop, command.timeoutMs);
	command.signal?.addEventListener('abort', stop, { once: true });
	// execa settles once the pipes close too: bounded after the command's own exit, so an escaped process cannot hold us.
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	try {
		const drained = await Promise.race([
			subprocess.then((result) => ({ result })),
			exited.then(() => sleep(HOOK_DRAIN_MS)).then(() => undefined),
		]);
		if (!drained) {
			child.stdout?.destroy();
			child.stderr?.destroy();
			return { exitCode: child.exitCode ?? undefined, signal: child.signalCode ?? undefined, timedOut, output: '' };
		}
		const { result } = drained;
		const output = String(result.all ?? '').slice(-2000);
		if (child.pid === undefined) return { timedOut: false, output, error: result.shortMessage ?? 'could not start' };
		return { exitCode: result.exitCode, signal: result.signal, timedOut, output };
	} finally {
		clearTimeout(timer);
		command.signal?.removeEventListener('abort', stop);
		// What it left running in its own group (`sleep 100 &`) is stopped too: a hook never leaves processes behind.
		// The group's id cannot be taken by another process while any member of it lives.
		if (child.pid !== undefined && groupAlive(child.pid))
			await stopTarget({ group: { pgid: child.pid } }, { graceMs: 0 }).done;
	}
}
