/** The Before/After hook options (duckdb-safe-ingest) and the After ones (duckdb-lock-cleanup): parse → specs. */
import { parseDuration } from '../lib/base/duration';
import { UsageError } from '../lib/base/errors';
import { headerProblem, type HookSpec, type RunHookSpecs } from '../lib/run/hooks';

export const HOOK_OPTIONS = {
	'before-request': { type: 'string' },
	'after-request': { type: 'string' },
	'before-command': { type: 'string' },
	'after-command': { type: 'string' },
	'request-header': { type: 'string', multiple: true },
	'request-header-env': { type: 'string', multiple: true },
	'hook-timeout': { type: 'string' },
} as const;

export const HOOK_HELP = `Sharing the database (the handshake with an API or a dashboard that reads it):
  --before-request URL      POST to URL once our lock is taken, before waiting for DuckDB's lock (make readers let go)
  --after-request URL       POST the outcome record to URL after the run, on every path once the Before was tried
  --request-header "N: V"   a header for both requests (repeatable), e.g. "Authorization: Bearer …"
  --request-header-env VAR  the same, the whole "Name: value" line read from environment variable VAR (kept out of
                            ps and of the job's environment)
  --before-command FILE     run FILE (no shell) instead of a Before request; env DUCKDB_SAFE_INGEST_DATABASE, _PHASE
  --after-command FILE      run FILE after the run, the outcome record on its stdin; env also _STATUS
  --hook-timeout DURATION   the most one hook may take; a bare number is seconds (default 30)`;

type Values = {
	'before-request'?: string;
	'after-request'?: string;
	'before-command'?: string;
	'after-command'?: string;
	'request-header'?: string[];
	'request-header-env'?: string[];
	'hook-timeout'?: string;
};

function headerLine(line: string, given: string): [string, string] {
	const colon = line.indexOf(':');
	if (colon <= 0) throw new UsageError(`${given}: expected "Name: value".`);
	const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
	const problem = headerProblem(name, value);
	if (problem) throw new UsageError(`${given}: ${problem}.`);
	return [name, value];
}

/** The headers of both requests; a variable named by --request-header-env is then removed from our environment. */
function headersFrom(values: Values): Record<string, string> {
	const headers: Record<string, string> = {};
	for (const line of values['request-header'] ?? []) {
		// Named by the header's name only: the value (or a line without a colon, maybe the token itself) is a secret.
		const given = line.includes(':') ? `--request-header ${line.split(':')[0]}: …` : '--request-header (no colon)';
		const [name, value] = headerLine(line, given);
		headers[name] = value;
	}
	// Each variable once: it is removed from our environment as it is read.
	for (const variable of new Set(values['request-header-env'] ?? [])) {
		const line = process.env[variable];
		if (line === undefined)
			throw new UsageError(`--request-header-env ${variable}: the environment variable ${variable} is not set.`);
		const [name, value] = headerLine(line, `--request-header-env ${variable}`);
		headers[name] = value;
		delete process.env[variable];
	}
	return headers;
}

function hook(values: Values, phase: 'before' | 'after', headers: () => Record<string, string>): HookSpec | undefined {
	const url = values[`${phase}-request`];
	const file = values[`${phase}-command`];
	if (url && file) throw new UsageError(`Give --${phase}-request or --${phase}-command, not both.`);
	if (url) return { kind: 'request', method: 'POST', url, headers: headers() };
	if (file) return { kind: 'command', file };
	return undefined;
}

export function handshakeFrom(values: Values): RunHookSpecs | undefined {
	let headers: Record<string, string> | undefined;
	const shared = (): Record<string, string> => (headers ??= headersFrom(values));
	const before = hook(values, 'before', shared);
	const after = hook(values, 'after', shared);
	if (
		(values['request-header'] || values['request-header-env']) &&
		before?.kind !== 'request' &&
		after?.kind !== 'request'
	)
		throw new UsageError('--request-header and --request-header-env need --before-request or --after-request.');
	const timeoutMs =
		values['hook-timeout'] === undefined ? undefined : parseDuration(values['hook-timeout'], '--hook-timeout', 's');
	if (!before && !after) {
		if (timeoutMs !== undefined) throw new UsageError('--hook-timeout needs a Before or After hook.');
		return undefined;
	}
	return { before, after, timeoutMs };
}
