/**
 * One run's fixed facts, worked out before anything is created (checked options, what is recorded where others read
 * it, which lock decides), and the one way its Outcome record is made.
 */
import { findWalFiles } from '../base/wal-files';
import { maskSecrets, redactUrls } from '../base/mask';

import type { Outcome } from '../outcome/outcome';
import { summarize } from '../outcome/summary';
import { resolveRunOptions, type ResolvedRun, type RunOptions } from './options';
import { redisKeyFor } from '../lock/redis-inspect';

/** What every outcome of the run shares, set once at the start. */
type Fixed = 'operation' | 'database' | 'command' | 'shell' | 'cwd' | 'timeoutMs' | 'graceMs' | 'startedAt';

/** An outcome before the run's fixed fields, its timing, its WAL report and its summary are added. */
export type OutcomeBody = Omit<Outcome, 'summary' | Fixed | 'endedAt' | 'durationMs' | 'wal'>;

export interface RunContext {
	options: RunOptions;
	resolved: ResolvedRun;
	startedMs: number;
	pidFile: string;
	backend: Pick<Outcome['lock'], 'backend' | 'redisKey'>;
	/** Masks the run's secrets in everything written where others read it (PID file, Redis holder, log file). */
	mask: (text: string) => string;
	/** The job's command line as recorded there. */
	recordedCommand: string;
}

/**
 * The secrets a run's options carry: the values of the job's extra environment (the node puts its Job Secrets
 * credential there; the options do not say which value is secret, so all are treated as such) and the Redis password.
 */
function secretsOf(options: RunOptions): string[] {
	const secrets = Object.values(options.env ?? {});
	for (const spec of [options.handshake?.before, options.handshake?.after]) {
		if (spec?.kind === 'request') secrets.push(...Object.values(spec.headers ?? {}));
	}
	if (options.redis) {
		try {
			const password = new URL(options.redis.url).password;
			if (password) secrets.push(password, decodeURIComponent(password));
		} catch {
			// Not a parseable URL (rejected before this is used): redactUrls still covers the usual form.
		}
	}
	return secrets;
}

/** Checks the options (UsageError on bad input, before anything exists) and fixes what the run records. */
export function prepareRun(options: RunOptions): RunContext {
	const resolved = resolveRunOptions(options);
	const secrets = secretsOf(options);
	// Our own command line is masked too: a CLI's `--env NAME=VALUE` carries a secret.
	const mask = (text: string): string => redactUrls(maskSecrets(text, secrets));
	return {
		options,
		resolved,
		startedMs: Date.now(),
		pidFile: `${resolved.databasePath}.pid`,
		backend: {
			backend: options.redis ? 'redis' : 'file',
			redisKey: options.redis ? redisKeyFor(resolved.databasePath, options.redis) : undefined,
		},
		mask,
		recordedCommand: mask([resolved.file, ...resolved.args].join(' ')),
	};
}

export const EMPTY_STREAM = { tail: '', bytes: 0, truncated: false };

/** The body of an outcome of a run whose job never started. */
export function notStarted(body: Pick<OutcomeBody, 'status' | 'lock'> & Partial<OutcomeBody>): OutcomeBody {
	return {
		exitCode: null,
		signal: null,
		jobPid: null,
		output: { stdout: EMPTY_STREAM, stderr: EMPTY_STREAM },
		...body,
	};
}

/** The run's Outcome record: status and summary first, which is what people read in a JSON line or an n8n item. */
export function outcomeOf(run: RunContext, body: OutcomeBody): Outcome {
	const ended = Date.now();
	const { resolved, options } = run;
	const record = {
		operation: options.operation ?? 'runCommand',
		database: resolved.databasePath,
		command: options.command,
		shell: resolved.shell,
		cwd: resolved.cwd,
		timeoutMs: resolved.timeoutMs,
		graceMs: resolved.graceMs,
		startedAt: new Date(run.startedMs).toISOString(),
		...body,
		wal: findWalFiles(resolved.databasePath),
		endedAt: new Date(ended).toISOString(),
		durationMs: ended - run.startedMs,
	};
	const { status, ...rest } = record;
	return { status, summary: summarize(record), ...rest };
}
