/**
 * Asks DuckDB itself whether a database is held, from a resident helper process: the only way to see a holder in
 * another PID namespace (another container or n8n worker), which /proc/locks omits. A read-only open fails at once
 * while anyone holds a write lock, so the probe never waits on or disturbs a writer; when nothing holds the file it
 * takes a READ lock for a few milliseconds, so callers probe while holding our own PID-file lock.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ResidentScript } from '../proc/resident-script';
import type { LockConflict } from './lock-conflict';

export const WORKER_SCRIPT = join(__dirname, 'child.js');

export const PROBE_DEFAULTS = { timeoutMs: 30_000 };

export type ProbeResult = { held: false; error?: string } | ({ held: true; message: string } & LockConflict);

/** The one probe helper of this process (started on first use; it exits by itself when idle). */
export const probeHelper = new ResidentScript(WORKER_SCRIPT, ['serve']);

export async function probeDatabase(databasePath: string, timeoutMs = PROBE_DEFAULTS.timeoutMs): Promise<ProbeResult> {
	if (!existsSync(databasePath)) return { held: false };
	const answer = await probeHelper.request({ path: databasePath }, timeoutMs);
	if ('reply' in answer) return answer.reply as ProbeResult;
	return {
		held: false,
		error: answer.timedOut
			? `the DuckDB probe did not answer within ${timeoutMs} ms`
			: `the DuckDB probe failed: ${answer.failed}`,
	};
}
