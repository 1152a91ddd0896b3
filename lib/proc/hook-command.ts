/**
 * Running a hook command once (the Before and After hooks of a run): an executable and its arguments, never a shell,
 * in a process group of its own, with the outcome on its stdin, a bounded time, and its whole group stopped (TERM,
 * then KILL at once) when that time runs out.
 */
import type { ChildProcess } from 'node:child_process';
import { loadExeca } from './execa';
import { stopTarget } from './stop';

export interface HookCommand {
	file: string;
	args: string[];
	/** Written to its stdin (the After hook gets the outcome record). */
	input?: string;
	/** Added to our environment. */
	env: Record<string, string>;
	/** Which variables of our environment it inherits (absent: all). */
	inheritEnv?: (name: string) => boolean;
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

export async function runHookCommand(command: HookCommand): Promise<HookCommandResult> {
	const execa = await loadExeca();
	const inherited = Object.entries(process.env).filter(
		(entry): entry is [string, string] => entry[1] !== undefined && (command.inheritEnv?.(entry[0]) ?? true),
	);
	const subprocess = execa(command.file, command.args, {
		env: { ...Object.fromEntries(inherited), ...command.env },
		extendEnv: false,
		input: command.input ?? '',
		detached: true,
		cleanup: false,
		reject: false,
		all: true,
		stripFinalNewline: false,
		maxBuffer: 1024 * 1024,
	});
	const child = subprocess as unknown as ChildProcess;
	let timedOut = false;
	const stop = (): void => {
		if (child.pid === undefined || timedOut) return;
		timedOut = true;
		void stopTarget({ group: { pgid: child.pid } }, { graceMs: 0 }).done;
	};
	const timer = setTimeout(stop, command.timeoutMs);
	command.signal?.addEventListener('abort', stop, { once: true });
	try {
		const result = await subprocess;
		const output = String(result.all ?? '').slice(-2000);
		if (child.pid === undefined) return { timedOut: false, output, error: result.shortMessage ?? 'could not start' };
		return { exitCode: result.exitCode, signal: result.signal, timedOut, output };
	} finally {
		clearTimeout(timer);
		command.signal?.removeEventListener('abort', stop);
	}
}
