#!/usr/bin/env node
/**
 * duckdb-lock-cleanup: find, report and (when asked) stop what holds a DuckDB database; remove stale locks; recover a
 * WAL left by a crash. Argument parsing, prompting and printing only; the work is lib/cleanup/cleanup.ts.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { constants as osConstants } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { parseDuration, formatDuration } from '../lib/base/duration';
import { messageOf, UsageError } from '../lib/base/errors';
import { EXIT_CODES } from '../lib/outcome/outcome';
import { CLEANUP_STATES } from '../lib/outcome/status';
import { describeHolder } from '../lib/outcome/summary';
import { holderFromInspection } from '../lib/outcome/holder-reports';
import { LEASE_OPTIONS, leaseFrom } from './lease-args';
import { HOOK_OPTIONS, handshakeFrom } from './hook-args';
import { cleanupDatabase } from '../lib/cleanup/cleanup';
import { CLEANUP_DEFAULTS, type CleanupPolicy, type StopCandidate } from '../lib/cleanup/policy';
import { type CleanupReport } from '../lib/outcome/cleanup-report';
import { describeCandidate } from '../lib/cleanup/plan';

const HELP = `Usage: duckdb-lock-cleanup --db PATH [--stop-stuck DURATION] [--stop-all-holders] [--recover-wal]
                           [--grace DURATION] [--inspect-only] [--yes] [--json]

Finds what holds the DuckDB database PATH and reports it: its PID file (PATH.pid) and holder, the processes holding
DuckDB's file lock (PID, PPID, command, elapsed, state), and WAL files. By default it also removes provably stale
PID files (their holder is dead, a zombie, its PID was reused, or, for a holder in another container or on another
machine, its heartbeat stopped longer than the stale period), which is always safe.

Options:
  --db PATH               the DuckDB database file
  --stop-stuck DURATION   also stop our own jobs (named by the PID file) running longer than this; a bare number is
                          minutes; 0s stops any of our jobs
  --stop-all-holders      also stop any other process holding the database (an API server, a duckdb shell, ...)
  --recover-wal           when nothing holds the database, replay a WAL left by a crash and checkpoint it
                          (committed data is kept; no WAL file is ever deleted)
  --grace DURATION        SIGTERM, then this long before SIGKILL; a bare number is seconds (default 10)
  --inspect-only          change nothing, not even stale PID files
  --stale-after DURATION  a holder in another container or on another machine is stale once its heartbeat is this
                          old (and nothing on this machine holds DuckDB's lock); a bare number is seconds (default 60)
  --redis URL             the runs use a Redis lock (duckdb-safe-ingest --redis): report and clean it too
                          (env: read the URL from DUCKDB_SAFE_INGEST_REDIS_URL)
  --redis-key NAME        the lock's name in Redis (default: the database's absolute path)
  --after-request URL     a stale lock whose run ended owing its After hook (the handshake with an API that shares
                          the database): POST the report to URL, then remove the lock (--request-header "N: V", or
                          --request-header-env VAR holding that line, for its headers)
  --after-command FILE    the same with a command (no shell), the report on its stdin
  --after-done            that After hook was done by hand: remove the lock
  --hook-timeout DURATION the most the After hook may take; a bare number is seconds (default 30)
  --yes                   do not ask before stopping a process (required without a terminal)
  --json                  print the report as one JSON object on the last line of stdout
  -h, --help              this help

Stopping means SIGTERM to the job's process group (our jobs) or to the process, the grace period, then SIGKILL; the
process's start time is checked again before each signal, so a reused PID is never hit.

Exit codes: 0 nothing holds the database afterwards; 1 a live holder remains; 125 bad arguments.`;

function say(message: string): void {
	process.stderr.write(`${message}\n`);
}

function parse(args: string[]): { databasePath: string; policy: CleanupPolicy; yes: boolean; json: boolean } | 'help' {
	let parsed;
	try {
		parsed = parseArgs({
			args,
			options: {
				db: { type: 'string' },
				'stop-stuck': { type: 'string' },
				'stop-all-holders': { type: 'boolean' },
				'recover-wal': { type: 'boolean' },
				grace: { type: 'string' },
				'inspect-only': { type: 'boolean' },
				yes: { type: 'boolean', short: 'y' },
				json: { type: 'boolean' },
				help: { type: 'boolean', short: 'h' },
				'stale-after': LEASE_OPTIONS['stale-after'],
				redis: LEASE_OPTIONS.redis,
				'redis-key': LEASE_OPTIONS['redis-key'],
				'after-request': HOOK_OPTIONS['after-request'],
				'after-command': HOOK_OPTIONS['after-command'],
				'request-header': HOOK_OPTIONS['request-header'],
				'request-header-env': HOOK_OPTIONS['request-header-env'],
				'hook-timeout': HOOK_OPTIONS['hook-timeout'],
				'after-done': { type: 'boolean' },
			},
		});
	} catch (error) {
		throw new UsageError(`${messageOf(error)}. See --help.`);
	}
	const { values } = parsed;
	if (values.help) return 'help';
	if (!values.db) throw new UsageError('--db PATH is required. See --help.');
	const inspectOnly = values['inspect-only'] ?? false;
	if (
		inspectOnly &&
		(values['stop-stuck'] !== undefined ||
			values['stop-all-holders'] ||
			values['recover-wal'] ||
			values['after-request'] ||
			values['after-command'] ||
			values['after-done'])
	) {
		throw new UsageError(
			'--inspect-only cannot be combined with --stop-stuck, --stop-all-holders, --recover-wal or an After hook.',
		);
	}
	return {
		databasePath: resolve(values.db),
		policy: {
			removeStale: !inspectOnly,
			stopStuckAfterMs:
				values['stop-stuck'] === undefined ? undefined : parseDuration(values['stop-stuck'], '--stop-stuck', 'm'),
			stopAllHolders: values['stop-all-holders'] ?? false,
			recoverWal: values['recover-wal'] ?? false,
			graceMs: values.grace === undefined ? CLEANUP_DEFAULTS.graceMs : parseDuration(values.grace, '--grace', 's'),
			...(({ staleAfterMs, redis }) => ({ staleAfterMs, redis }))(leaseFrom(values)),
			...afterFrom(values),
		},
		yes: values.yes ?? false,
		json: values.json ?? false,
	};
}

/** The After hook options: at most one way to settle an After owed by a dead run. */
function afterFrom(
	values: Parameters<typeof handshakeFrom>[0] & { 'after-done'?: boolean },
): Pick<CleanupPolicy, 'after' | 'afterDone' | 'hookTimeoutMs'> {
	// Checked by the cleanup before it looks at anything: a typo is an error at once, like every other option.
	const handshake = handshakeFrom(values);
	if (values['after-done'] && handshake?.after)
		throw new UsageError(
			'--after-done says the After hook was done by hand: give it without --after-request or --after-command.',
		);
	return { after: handshake?.after, afterDone: values['after-done'], hookTimeoutMs: handshake?.timeoutMs };
}

async function askOnTerminal(candidate: StopCandidate): Promise<boolean> {
	const prompt = createInterface({ input: process.stdin, output: process.stderr });
	try {
		const answer = await prompt.question(`Stop ${describeCandidate(candidate).replace(/^process/, 'process')}? [y/N] `);
		return /^y(es)?$/i.test(answer.trim());
	} finally {
		prompt.close();
	}
}

function print(report: CleanupReport): void {
	const pidFile = report.pidFile;
	say(`database: ${report.database}`);
	if (pidFile.state === 'none') say('PID file: none');
	else if (pidFile.state === 'held') say(`PID file: held by ${describeHolder(holderFromInspection(pidFile)!)}`);
	else if (pidFile.state === 'stale') say(`PID file: stale (${pidFile.detail})`);
	else say(`PID file: unreadable (${pidFile.reason})`);
	if (!report.holders.length) say('holders: none');
	for (const holder of report.holders) {
		const elapsed = holder.elapsedSeconds !== undefined ? formatDuration(holder.elapsedSeconds * 1000) : '?';
		say(
			`holder: PID ${holder.pid ?? '? (another PID namespace)'} PPID ${holder.ppid ?? '?'} ${holder.lock} lock, state ${holder.state ?? '?'}, elapsed ${elapsed}, user ${holder.user ?? '?'}${holder.ours ? ', our job' : ''}: ${holder.command}`,
		);
	}
	say(
		`WAL: ${report.wal.status}${report.wal.files.map((file) => ` ${file.path} (${file.bytes} bytes, ${file.modifiedAt})`).join(',')}`,
	);
	for (const action of report.actions)
		say(`${action.done ? 'done' : 'not done'}: ${action.action} ${action.target}: ${action.detail}`);
	for (const line of report.remaining) say(`remaining: ${line}`);
	say(report.summary);
}

async function main(): Promise<number> {
	let options;
	try {
		options = parse(process.argv.slice(2));
	} catch (error) {
		if (error instanceof UsageError) {
			say(`duckdb-lock-cleanup: error: ${error.message}`);
			return EXIT_CODES.usage;
		}
		throw error;
	}
	if (options === 'help') {
		process.stdout.write(`${HELP}\n`);
		return 0;
	}
	const wantsStops = options.policy.stopStuckAfterMs !== undefined || options.policy.stopAllHolders;
	if (wantsStops && !options.yes) {
		if (process.stdin.isTTY) {
			options.policy.confirm = askOnTerminal;
		} else {
			// No terminal to ask and no --yes: never stop anything.
			options.policy.confirm = async (candidate) => {
				say(`would stop ${describeCandidate(candidate)}: no terminal to confirm; rerun with --yes`);
				return false;
			};
		}
	}
	// Ctrl-C or SIGTERM: start nothing more (a stop under way finishes), report what was done. A second one ends us
	// at once, through process.exit, so that the exit hook still releases a lock we hold (during a probe or a recovery).
	const cancel = new AbortController();
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.on(signal, () => {
			if (cancel.signal.aborted) {
				say(`duckdb-lock-cleanup: ${signal} again: ending now`);
				process.exit(128 + osConstants.signals[signal]);
			}
			say(`duckdb-lock-cleanup: ${signal}: canceling; nothing further is started (again to end at once)`);
			cancel.abort();
		});
	}
	let report: CleanupReport;
	try {
		report = await cleanupDatabase(options.databasePath, { ...options.policy, signal: cancel.signal });
	} catch (error) {
		if (error instanceof UsageError) {
			say(`duckdb-lock-cleanup: error: ${error.message}`);
			return EXIT_CODES.usage;
		}
		throw error;
	}
	print(report);
	if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
	return CLEANUP_STATES[report.state].exitCode;
}

main().then(
	(code) => process.stdout.write('', () => process.exit(code)),
	(error: unknown) => {
		say(`duckdb-lock-cleanup: internal error: ${(error as Error).stack ?? String(error)}`);
		process.exit(EXIT_CODES.usage);
	},
);
