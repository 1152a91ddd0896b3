/** Runs the compiled command-line tools as real processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { track } from './processes';
import type { Outcome } from '../../lib/outcome/outcome';

export const BIN = join(__dirname, '..', '..', 'bin');

export interface CliResult<T = Outcome> {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	/** The --json outcome (last stdout line), when there is one. */
	json?: T;
}

export interface CliOptions {
	cwd?: string;
	env?: NodeJS.ProcessEnv;
	/** Runs the tool through this command line, e.g. ['setpriv', '--reuid=65534', ...] to run it as another user. */
	prefix?: string[];
}

export function startCli<T = Outcome>(
	tool: string,
	args: string[],
	options: CliOptions = {},
): { child: ChildProcess; result: Promise<CliResult<T>>; stdout: () => string } {
	const argv = [...(options.prefix ?? []), process.execPath, join(BIN, `${tool}.js`), ...args];
	const child = track(
		spawn(argv[0], argv.slice(1), {
			cwd: options.cwd,
			env: options.env ?? process.env,
			stdio: ['ignore', 'pipe', 'pipe'],
		}),
	);
	let stdout = '';
	let stderr = '';
	child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const result = new Promise<CliResult<T>>((resolve) => {
		child.on('close', (code, signal) => {
			const last = stdout.trimEnd().split('\n').pop() ?? '';
			let json: T | undefined;
			try {
				json = last.startsWith('{') ? (JSON.parse(last) as T) : undefined;
			} catch {
				json = undefined;
			}
			resolve({ code, signal, stdout, stderr, json });
		});
	});
	return { child, result, stdout: () => stdout };
}

export function runCli<T = Outcome>(tool: string, args: string[], options: CliOptions = {}): Promise<CliResult<T>> {
	return startCli<T>(tool, args, options).result;
}
