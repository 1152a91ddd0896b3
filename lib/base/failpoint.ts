/**
 * Failpoints for the crash tests: with DUCKDB_SAFE_INGEST_FAILPOINT=<name> in its environment, a supervisor that
 * reaches that step of a run says so on stderr and stops itself (SIGSTOP), so that a test can SIGKILL it there,
 * deterministically. Without the variable (every real run), a failpoint is one string comparison.
 */
import { writeSync } from 'node:fs';

export const FAILPOINT_ENV = 'DUCKDB_SAFE_INGEST_FAILPOINT';

/** The steps of a run where a supervisor can be stopped, in order. */
export const FAILPOINTS = [
	'lock-taken',
	'gate-started',
	'job-recorded',
	'gate-released',
	'job-exited',
	'before-release',
] as const;
export type Failpoint = (typeof FAILPOINTS)[number];

export function failpoint(name: Failpoint): void {
	if (process.env[FAILPOINT_ENV] !== name) return;
	writeSync(2, `failpoint ${name} reached by PID ${process.pid}\n`);
	process.kill(process.pid, 'SIGSTOP');
}
