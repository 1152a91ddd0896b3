/**
 * "Worker containers" for lease tests: a command in its own PID and UTS namespace (own PIDs, own host name, own
 * /proc), as n8n queue-mode workers in separate containers sharing one data volume. `--kill-child` makes killing the
 * `unshare` process (which the test started, by PID) take the whole namespace down, like a container that dies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { track } from './processes';
import { BIN } from './cli';
import type { Outcome } from '../../lib/outcome/outcome';

export interface Container {
	child: ChildProcess;
	output(): string;
	/** Exit code of the command (the CLI's), and its --json outcome when printed. */
	result: Promise<{ code: number | null; signal: NodeJS.Signals | null; outcome?: Outcome; output: string }>;
}

/** Runs argv inside a fresh PID + UTS namespace whose host name is `host`. */
export function inContainer(host: string, argv: string[]): Container {
	const child = track(
		spawn(
			'unshare',
			[
				'--pid',
				'--uts',
				'--fork',
				'--mount-proc',
				'--kill-child',
				'sh',
				'-c',
				'hostname "$0" && exec "$@"',
				host,
				...argv,
			],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		),
	);
	let output = '';
	child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const result = new Promise<{ code: number | null; signal: NodeJS.Signals | null; outcome?: Outcome; output: string }>(
		(resolve) => {
			child.on('close', (code, signal) => {
				const last = output
					.split('\n')
					.reverse()
					.find((line) => line.startsWith('{"status"'));
				resolve({ code, signal, outcome: last ? (JSON.parse(last) as Outcome) : undefined, output });
			});
		},
	);
	return { child, output: () => output, result };
}

/** duckdb-safe-ingest inside a container. */
export function ingestIn(host: string, args: string[]): Container {
	return inContainer(host, [process.execPath, join(BIN, 'duckdb-safe-ingest.js'), ...args]);
}
