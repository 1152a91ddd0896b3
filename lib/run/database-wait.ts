/**
 * Waiting for DuckDB's own lock: with our PID file held (so no run of ours slips in), the database is polled, with
 * backoff, until nobody else holds it (a reader that let go, a foreign writer that finished) or the wait is used up.
 */
import { sleep } from '../base/sleep';
import { findDatabaseHolders, lockHolders, type DatabaseHolder } from '../duckdb/database-holders';
import type { RunContext } from './context';
import type { HeldRunLock } from './held-lock';

export const DATABASE_WAIT_DEFAULTS = {
	/** The first pause; each next one is longer (×1.5) up to the longest. */
	firstPollMs: 50,
	longestPollMs: 1000,
};

/**
 * The holders still there when the wait ended (empty: the database is free), and how long it was waited for
 * (0 when nobody else held it at the first look). `untilMs` is a Date.now() time.
 */
export async function waitForDatabase(
	run: RunContext,
	held: HeldRunLock,
	untilMs: number,
): Promise<{ holders: DatabaseHolder[]; waitedMs: number }> {
	const { options, resolved } = run;
	const started = Date.now();
	let pollMs = DATABASE_WAIT_DEFAULTS.firstPollMs;
	for (let look = 0; ; look++) {
		const holders = lockHolders(
			await findDatabaseHolders(resolved.databasePath, { probe: options.probeDatabase !== false, includeOpen: false }),
		);
		const left = untilMs - Date.now();
		if (!holders.length || left <= 0 || options.signal?.aborted || held.lost)
			return { holders, waitedMs: look === 0 && !holders.length ? 0 : Date.now() - started };
		await sleep(Math.min(pollMs, left), options.signal);
		pollMs = Math.min(DATABASE_WAIT_DEFAULTS.longestPollMs, pollMs * 1.5);
	}
}
