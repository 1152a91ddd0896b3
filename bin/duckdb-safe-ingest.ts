#!/usr/bin/env node
/**
 * duckdb-safe-ingest: run one job under the database lock, with a timeout that stops the whole job tree.
 * Argument parsing and printing only; the work is lib/run/supervise.ts.
 */
import { parseArgs } from 'node:util';
import { parseDuration, formatDuration } from '../lib/base/duration';
import { messageOf, UsageError } from '../lib/base/errors';
import { EXIT_CODES, type Outcome } from '../lib/outcome/outcome';
import { exitCodeFor } from '../lib/outcome/status';
import { describeHolder } from '../lib/outcome/summary';
import { REDIS_URL_ENV, RUN_DEFAULTS } from '../lib/run/options';
import { runOperation, type OperationRequest } from '../lib/operations/dispatch';
import { OPERATION_HELP, OPERATION_OPTIONS, operationFrom } from './operation-args';
import { LEASE_OPTIONS, leaseFrom, type LeaseArgs } from './lease-args';
import { HOOK_HELP, HOOK_OPTIONS, handshakeFrom } from './hook-args';
import type { RunHookSpecs } from '../lib/run/hooks';
import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { type RunEvent } from '../lib/run/events';

const HELP = `Usage: duckdb-safe-ingest --db PATH [options] -- COMMAND [ARG...]
       duckdb-safe-ingest --db PATH [options] --ingest GLOB [--ingest GLOB...] --table NAME [ingest options]
       duckdb-safe-ingest --db PATH [options] --sql FILE [--rows N]

Runs COMMAND (or a built-in ingestion) under the lock of the DuckDB database PATH (the file PATH.pid), so that two
runs (a schedule and a manual run, n8n and cron) never write at once, and stops the whole job tree when it runs too
long.

Options:
  --db PATH                 the DuckDB database file (its folder must exist)
  --timeout DURATION        wall-clock limit; a bare number is minutes (default 120)
  --grace DURATION          after the timeout, SIGTERM then this long before SIGKILL; a bare number is seconds (default 10)
  --wait DURATION           wait this long for a held lock; a bare number is seconds (default 0: fail at once)
  --cwd DIR                 working directory of the job (default: the current one)
  --env NAME=VALUE          extra environment variable for the job (repeatable)
  --log-file PATH           append the job's output to this file
  --owner TEXT              who holds the lock, written into the PID file (default: user@host)
  --shell                   run COMMAND as one shell line with /bin/sh -c (off by default; beware of injection)
  --conflict-exit-code N    exit code when the lock is held (default 1, like flock)
  --heartbeat DURATION      how often the lease is renewed while the job runs; a bare number is seconds
                            (default: the stale period / 6, at most 10)
  --stale-after DURATION    a holder we cannot check by PID (another container or machine) is stale once its
                            heartbeat is this old; a bare number is seconds (default 60)
  --redis URL               let a Redis lock decide (n8n queue mode's Redis; workers on several machines), e.g.
                            redis://redis:6379/0; the PID file is still written. Unreachable Redis: blocked, not run.
                            --redis env reads the URL from ${REDIS_URL_ENV} (keeps a password out of ps)
  --redis-key NAME          the lock's name in Redis (default: the database's absolute path)
  --json                    print the outcome as one JSON object on the last line of stdout
  -h, --help                this help

${OPERATION_HELP}

${HOOK_HELP}

Durations: 90s, 15m, 2h, 1d, 500ms, or a bare number in the unit named above.

Exit codes (GNU timeout compatible):
  0      the command succeeded
  N      the command failed with its own exit status N
  1      the lock is held by another run (see --conflict-exit-code)
  124    the timeout was hit; the job's whole process group was stopped
  125    our own error: bad arguments, missing database folder, unreadable lock file, unusable log file
  126    the command was found but is not executable
  127    the command was not found
  128+N  the command died of signal N, or duckdb-safe-ingest itself was stopped by signal N
         (SIGTERM, SIGINT, SIGHUP stop the job group, release the lock, then exit 128+N)

Progress goes to stderr, the job's output is streamed live.`;

function progress(message: string): void {
	process.stderr.write(`duckdb-safe-ingest: ${message}\n`);
}

function describeEvent(event: RunEvent): string {
	switch (event.type) {
		case 'lock-check':
			return `checking the lock ${event.pidFile}`;
		case 'lock-acquired': {
			const recovered = event.recovered
				.map((entry) => `; recovered a stale lock of PID ${entry.pid} (${entry.detail})`)
				.join('');
			return `lock taken${event.waitedMs > 50 ? ` after waiting ${formatDuration(event.waitedMs)}` : ''}${recovered}`;
		}
		case 'job-started':
			return `job started, PID ${event.pid} (process group ${event.pid})`;
		case 'job-stopping':
			return `stopping the job group (${event.reason}): SIGTERM, then SIGKILL after the grace period`;
		case 'job-finished':
			return `job finished after ${formatDuration(event.durationMs)} (${event.signal ? `signal ${event.signal}` : `exit ${event.exitCode}`})`;
		case 'hook': {
			const { phase, target, ok, error, pendingFrom, durationMs } = event.report;
			const owed = pendingFrom !== undefined ? ` (owed by the run of PID ${pendingFrom})` : '';
			return `${phase} hook ${target}${owed}: ${ok ? `done in ${formatDuration(durationMs)}` : `FAILED: ${error}`}`;
		}
		case 'lock-released':
			return event.released ? 'lock released' : `lock NOT released: ${event.note}`;
	}
}

interface Parsed {
	databasePath: string;
	timeoutMs: number;
	graceMs: number;
	waitMs: number;
	logFile?: string;
	owner: string;
	conflictExitCode: number;
	json: boolean;
	request: OperationRequest;
	handshake?: RunHookSpecs;
	lease: LeaseArgs;
}

function parse(all: string[]): Parsed | 'help' {
	// Options end at `--`: everything after it is the command, so its own --db or --json are never taken as ours.
	const separator = all.indexOf('--');
	const args = separator >= 0 ? all.slice(0, separator) : all;
	const command = separator >= 0 ? all.slice(separator + 1) : [];
	let parsed;
	try {
		parsed = parseArgs({
			args,
			allowPositionals: true,
			options: {
				db: { type: 'string' },
				timeout: { type: 'string' },
				grace: { type: 'string' },
				wait: { type: 'string' },
				cwd: { type: 'string' },
				env: { type: 'string', multiple: true },
				'log-file': { type: 'string' },
				owner: { type: 'string' },
				shell: { type: 'boolean' },
				'conflict-exit-code': { type: 'string' },
				...LEASE_OPTIONS,
				...HOOK_OPTIONS,
				json: { type: 'boolean' },
				help: { type: 'boolean', short: 'h' },
				...OPERATION_OPTIONS,
			},
		});
	} catch (error) {
		throw new UsageError(`${messageOf(error)}. See --help.`);
	}
	const { values, positionals } = parsed;
	if (values.help) return 'help';
	if (!values.db) throw new UsageError('--db PATH is required. See --help.');
	if (positionals.length)
		throw new UsageError(
			`Put the command after --, for example: duckdb-safe-ingest --db data.duckdb -- ${positionals.join(' ')}`,
		);
	const databasePath = resolve(values.db);
	const builtIn = operationFrom(values, databasePath, command.length > 0);
	if (!builtIn && !command.length)
		throw new UsageError(
			'No command given. Put it after --, for example: duckdb-safe-ingest --db data.duckdb -- python3 ingest.py (or use --ingest or --sql)',
		);
	if (builtIn && (values.shell || values.env || values.cwd))
		throw new UsageError('--shell, --env and --cwd apply to a COMMAND, not to --ingest, --sql or --insert-rows.');
	const env: Record<string, string> = {};
	for (const pair of values.env ?? []) {
		const eq = pair.indexOf('=');
		if (eq <= 0) throw new UsageError(`--env ${pair}: expected NAME=VALUE.`);
		env[pair.slice(0, eq)] = pair.slice(eq + 1);
	}
	const conflictText = values['conflict-exit-code'] ?? String(EXIT_CODES.blockedDefault);
	const conflictExitCode = Number(conflictText);
	if (!/^\d+$/.test(conflictText) || conflictExitCode > 255)
		throw new UsageError(`--conflict-exit-code ${conflictText}: give a number from 0 to 255.`);
	const timeoutMs =
		values.timeout === undefined ? RUN_DEFAULTS.timeoutMs : parseDuration(values.timeout, '--timeout', 'm');
	if (timeoutMs <= 0) throw new UsageError(`--timeout ${values.timeout}: the timeout must be greater than zero.`);
	const shell = values.shell ?? false;
	// With --shell, the words after -- are one shell line.
	const commandRun = {
		databasePath,
		command: shell ? [command.join(' ')] : command,
		shell,
		cwd: values.cwd ? resolve(values.cwd) : undefined,
		env,
	};
	return {
		databasePath,
		timeoutMs,
		graceMs: values.grace === undefined ? RUN_DEFAULTS.graceMs : parseDuration(values.grace, '--grace', 's'),
		waitMs: values.wait === undefined ? RUN_DEFAULTS.waitMs : parseDuration(values.wait, '--wait', 's'),
		logFile: values['log-file'] ? resolve(values['log-file']) : undefined,
		owner: values.owner ?? `${process.env.USER ?? 'user'}@${hostname()} (duckdb-safe-ingest CLI)`,
		conflictExitCode,
		json: values.json ?? false,
		request: builtIn ?? { operation: 'runCommand', command: commandRun },
		lease: leaseFrom(values),
		handshake: handshakeFrom(values),
	};
}

function printResult(outcome: Outcome): void {
	if (outcome.status === 'blocked' && outcome.holder && !outcome.holder.unreadable)
		progress(`blocked: held by ${describeHolder(outcome.holder)}`);
	progress(outcome.summary);
}

async function main(): Promise<number> {
	let options: Parsed | 'help';
	try {
		options = parse(process.argv.slice(2));
	} catch (error) {
		if (error instanceof UsageError) {
			progress(`error: ${error.message}`);
			return EXIT_CODES.usage;
		}
		throw error;
	}
	if (options === 'help') {
		process.stdout.write(`${HELP}\n`);
		return 0;
	}
	const controller = new AbortController();
	let stoppedBy: NodeJS.Signals | undefined;
	for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
		process.on(signal, () => {
			if (stoppedBy) return;
			stoppedBy = signal;
			progress(`received ${signal}: stopping the job, then releasing the lock`);
			controller.abort(signal);
		});
	}
	let outcome: Outcome;
	try {
		const supervision = {
			handshake: options.handshake,
			timeoutMs: options.timeoutMs,
			graceMs: options.graceMs,
			waitMs: options.waitMs,
			owner: options.owner,
			logFile: options.logFile,
			signal: controller.signal,
			...options.lease,
		};
		const hooks = {
			onEvent: (event: RunEvent) => progress(describeEvent(event)),
			echo: { stdout: process.stdout, stderr: process.stderr },
		};
		// Run SQL prints its rows on stdout: its progress goes to stderr.
		const sql = options.request.operation === 'runSql';
		outcome = await runOperation(
			options.request,
			supervision,
			sql ? { ...hooks, echo: { stdout: process.stderr, stderr: process.stderr } } : hooks,
		);
	} catch (error) {
		if (error instanceof UsageError) {
			progress(`error: ${error.message}`);
			return EXIT_CODES.usage;
		}
		throw error;
	}
	printResult(outcome);
	// Run SQL --rows: the rows as JSON lines (progress went to stderr, so stdout is only data).
	if (!options.json) for (const row of outcome.sql?.rows ?? []) process.stdout.write(`${JSON.stringify(row)}\n`);
	if (options.json) {
		// The job's stdout was echoed live: a last line without its newline would glue the JSON to it.
		const echoedStdout = options.request.operation === 'runSql' ? undefined : outcome.output.stdout;
		const partialLine = echoedStdout !== undefined && echoedStdout.bytes > 0 && !echoedStdout.tail.endsWith('\n');
		process.stdout.write(`${partialLine ? '\n' : ''}${JSON.stringify(outcome)}\n`);
	}
	return exitCodeFor(outcome, options.conflictExitCode, stoppedBy);
}

main().then(
	(code) => {
		process.exitCode = code;
		// Exit once our output is flushed (a large --json line to a pipe), without waiting for anything the job may
		// have left behind (escaped processes holding a pipe).
		process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
	},
	(error: unknown) => {
		progress(`internal error: ${(error as Error).stack ?? String(error)}`);
		process.exit(EXIT_CODES.usage);
	},
);
