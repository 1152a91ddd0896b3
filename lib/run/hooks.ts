/**
 * The Before and After hooks of a run: the handshake with the programs that share the database (an API server that
 * closes its DuckDB connections on `POST /prepare-for-ingestion` and reopens them on `POST /refresh-connections`).
 * A hook is an HTTP request or a command (never a shell). Before runs once our PID file is ours; a failing Before
 * makes the run Blocked. After runs on every path once Before was attempted, with the outcome record as its body or
 * stdin; its failure is reported, never thrown away.
 */
import { messageOf } from '../base/errors';
import { maskSecrets, redactUrls } from '../base/mask';
import type { HookReport } from '../outcome/outcome';
import type { PendingAfter } from '../lock/pid-file-format';
import { runHookCommand } from '../proc/hook-command';

export type HookPhase = 'before' | 'after';

export type HookSpec =
	| {
			kind: 'request';
			method?: string;
			url: string;
			/** Header values are secrets (an API key): masked wherever the hook is reported, never recorded. */
			headers?: Record<string, string>;
			/** The Before request's body; the After request's body is always the outcome record. */
			body?: string;
			/** The n8n credential that supplied the headers, by name: what the lock records of it. */
			credential?: string;
	  }
	| {
			kind: 'command';
			file: string;
			args?: string[];
			/** Which variables of our environment it inherits (absent: all), as the job's inheritEnv. */
			inheritEnv?: (name: string) => boolean;
	  };

export interface RunHookSpecs {
	before?: HookSpec;
	after?: HookSpec;
	/** How long one hook may take (default HOOK_DEFAULTS.timeoutMs). */
	timeoutMs?: number;
}

export const HOOK_DEFAULTS = { timeoutMs: 30_000 };

/** The hook as people may read it: method and URL (password and query values redacted) or the command line. */
export function hookTarget(spec: HookSpec): string {
	if (spec.kind === 'request') return `${(spec.method ?? 'POST').toUpperCase()} ${redactUrls(spec.url)}`;
	return [spec.file, ...(spec.args ?? [])].join(' ');
}

/** HTTP's token rule for header names (RFC 9110); values may not hold line breaks or other control characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// eslint-disable-next-line no-control-regex
const HEADER_VALUE_FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Why a hook request's header cannot be sent (undefined: it can); never quotes the value, which may be a secret. */
export function headerProblem(name: string, value: string): string | undefined {
	if (!HEADER_NAME.test(name))
		return `the header name "${name.slice(0, 60)}" is not valid: letters, digits and !#$%&'*+-.^_\`|~ only, no spaces`;
	if (HEADER_VALUE_FORBIDDEN.test(value))
		return `the value of the header ${name} holds a line break or control character`;
	return undefined;
}

/** What the lock records of an After hook that must still be done: never a secret (a credential by name). */
export function pendingAfter(spec: HookSpec): PendingAfter {
	return {
		kind: spec.kind,
		target: hookTarget(spec),
		...(spec.kind === 'request' && spec.credential ? { credential: spec.credential } : {}),
	};
}

export interface HookContext {
	databasePath: string;
	/** The outcome so far (After): the request's body, the command's stdin. */
	outcome?: object;
	status?: string;
	timeoutMs: number;
	signal?: AbortSignal;
	/** Where a hook command runs (and a relative one is found): the run's working directory. */
	cwd?: string;
}

/** The most of a hook's answer that is read (for the report); the rest is never downloaded. */
export const HOOK_ANSWER_BYTES = 4096;

/** At most HOOK_ANSWER_BYTES of a response body, as text; the body is cancelled after that. */
async function readAnswer(response: Response): Promise<string> {
	const reader = response.body?.getReader();
	if (!reader) return '';
	const chunks: Uint8Array[] = [];
	let bytes = 0;
	try {
		while (bytes < HOOK_ANSWER_BYTES) {
			const { done, value } = await reader.read();
			if (done) break;
			chunks.push(value);
			bytes += value.length;
		}
	} finally {
		await reader.cancel().catch(() => undefined);
	}
	return Buffer.concat(chunks).subarray(0, HOOK_ANSWER_BYTES).toString('utf8');
}

function secretsOf(spec: HookSpec): string[] {
	return spec.kind === 'request' ? Object.values(spec.headers ?? {}) : [];
}

/** Where a redirect points, made absolute (a Location may be relative) and redacted. */
function redirectTarget(from: string, location: string | null): string {
	if (!location) return '?';
	try {
		return redactUrls(new URL(location, from).href);
	} catch {
		// Not a URL at all: shown without its query, which may hold a token.
		return location.split('?')[0];
	}
}

async function request(
	spec: Extract<HookSpec, { kind: 'request' }>,
	phase: HookPhase,
	context: HookContext,
): Promise<Partial<HookReport>> {
	const method = (spec.method ?? 'POST').toUpperCase();
	const body = phase === 'after' ? JSON.stringify(context.outcome ?? {}) : spec.body;
	const headers = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...spec.headers };
	const timeout = AbortSignal.timeout(context.timeoutMs);
	const response = await fetch(spec.url, {
		method,
		headers,
		body: method === 'GET' || method === 'HEAD' ? undefined : body,
		signal: context.signal ? AbortSignal.any([timeout, context.signal]) : timeout,
		// A redirect would carry the headers (an API key) to wherever it points: never followed.
		redirect: 'manual',
	});
	const text = (await readAnswer(response).catch(() => '')).slice(0, 300);
	if (response.status >= 300 && response.status < 400)
		return {
			statusCode: response.status,
			error: `HTTP ${response.status}: a redirect (to ${redirectTarget(spec.url, response.headers.get('location'))}), not followed; give the hook the final URL`,
		};
	return response.ok
		? { statusCode: response.status }
		: { statusCode: response.status, error: `HTTP ${response.status}${text ? `: ${text}` : ''}` };
}

async function command(
	spec: Extract<HookSpec, { kind: 'command' }>,
	phase: HookPhase,
	context: HookContext,
): Promise<Partial<HookReport>> {
	const env = {
		DUCKDB_SAFE_INGEST_DATABASE: context.databasePath,
		DUCKDB_SAFE_INGEST_PHASE: phase,
		DUCKDB_SAFE_INGEST_STATUS: context.status ?? '',
	};
	const input = phase === 'after' ? JSON.stringify(context.outcome ?? {}) : '';
	const result = await runHookCommand({
		file: spec.file,
		args: spec.args ?? [],
		input,
		env,
		inheritEnv: spec.inheritEnv,
		cwd: context.cwd,
		timeoutMs: context.timeoutMs,
		signal: context.signal,
	});
	if (result.error) return { error: result.error };
	if (result.timedOut)
		return { exitCode: result.exitCode, error: `did not finish within ${context.timeoutMs} ms; stopped` };
	if (result.exitCode !== 0)
		return {
			exitCode: result.exitCode,
			error: `exited with ${result.exitCode ?? result.signal}${result.output.trim() ? `: ${result.output.trim().split('\n').pop()}` : ''}`,
		};
	return { exitCode: 0 };
}

/** Runs one hook; never throws: a failure (non-2xx, non-zero exit, time out, unreachable) is in the report. */
export async function runHook(spec: HookSpec, phase: HookPhase, context: HookContext): Promise<HookReport> {
	const started = Date.now();
	let result: Partial<HookReport>;
	try {
		result = spec.kind === 'request' ? await request(spec, phase, context) : await command(spec, phase, context);
	} catch (error) {
		const cause = (error as { cause?: unknown }).cause;
		result = {
			error:
				(error as Error).name === 'TimeoutError'
					? `no answer within ${context.timeoutMs} ms`
					: messageOf(cause ?? error),
		};
	}
	const report: HookReport = {
		phase,
		kind: spec.kind,
		target: hookTarget(spec),
		startedAt: new Date(started).toISOString(),
		durationMs: Date.now() - started,
		ok: !result.error,
		...result,
	};
	return maskSecrets(report, secretsOf(spec));
}
