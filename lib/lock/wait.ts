/**
 * The one wait loop of lock acquisition, for both backends (like flock: `-n` fails at once, `-w` waits): an attempt
 * either ends it, asks to try again at once (the state changed under us) or after a short pause, or finds the lock
 * held, in which case the loop polls until the wait is used up. A cancel ends it between attempts.
 */
import { sleep } from '../base/sleep';

export const WAIT_DEFAULTS = {
	/** How often a waiting acquirer looks again. */
	pollMs: 200,
};

export type Attempt<T> = { result: T } | { retry: 'now' } | { retry: 'after'; ms: number } | { held: T };

export interface WaitOptions {
	/** How long to wait for a held lock; 0 fails at once. */
	waitMs?: number;
	pollMs?: number;
	signal?: AbortSignal;
}

/** Runs `attempt` until it ends the wait; both it and `canceled` can ask how long the wait has lasted. */
export async function waitForLock<T>(
	options: WaitOptions,
	canceled: (waitedMs: number) => T,
	attempt: (waited: () => number) => Promise<Attempt<T>>,
): Promise<T> {
	const started = Date.now();
	const waitMs = options.waitMs ?? 0;
	const pollMs = options.pollMs ?? WAIT_DEFAULTS.pollMs;
	const waited = (): number => Date.now() - started;
	for (;;) {
		if (options.signal?.aborted) return canceled(waited());
		const step = await attempt(waited);
		if ('result' in step) return step.result;
		if ('retry' in step) {
			if (step.retry === 'after') await sleep(step.ms, options.signal);
			continue;
		}
		const waitedMs = waited();
		if (waitedMs >= waitMs) return step.held;
		await sleep(Math.min(pollMs, waitMs - waitedMs), options.signal);
	}
}
