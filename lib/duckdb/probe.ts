/**
 * Asks DuckDB itself whether a database is held, from a short-lived child process: the only way to see a holder in
 * another PID namespace (another container or n8n worker), which /proc/locks omits. A read-only open fails at once
 * while anyone holds a write lock, so the probe never waits on or disturbs a writer; when nothing holds the file it
 * takes a READ lock for a few milliseconds, so callers probe while holding our own PID-file lock.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runNodeScript } from '../proc/node-script';
import type { LockConflict } from './lock-conflict';

export const WORKER_SCRIPT = join(__dirname, 'child.js');

export const PROBE_DEFAULTS = { timeoutMs: 30_000 };

export type ProbeResult = { held: false; error?: string } | ({ held: true; message: string } & LockConflict);

export async function probeDatabase(databasePath: string, timeoutMs = PROBE_DEFAULTS.timeoutMs): Promise<ProbeResult> {
	if (!existsSync(databasePath)) return { held: false };
	const result = await runNodeScript<ProbeResult>(WORKER_SCRIPT, ['probe', databasePath], timeoutMs);
	if (result.reply) return result.reply;
	return {
		held: false,
		error: result.timedOut
			? `the DuckDB probe did not answer within ${timeoutMs} ms`
			: `the DuckDB probe failed: ${result.stderr.trim().slice(-300)}`,
	};
}
