/** The one wait loop of lock acquisition: at once, retry now or after a pause, poll while held until the wait is used up, cancel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForLock, type Attempt } from '../../lib/lock/wait';

test('a held lock fails at once without a wait, and is polled until the wait is used up with one', async () => {
	let attempts = 0;
	const held = async (): Promise<Attempt<string>> => {
		attempts++;
		return { held: 'held' };
	};
	assert.equal(await waitForLock({ waitMs: 0 }, () => 'canceled', held), 'held');
	assert.equal(attempts, 1);
	attempts = 0;
	const started = Date.now();
	assert.equal(await waitForLock({ waitMs: 300, pollMs: 50 }, () => 'canceled', held), 'held');
	assert.ok(Date.now() - started >= 290, 'waited the whole wait');
	assert.ok(attempts >= 4 && attempts <= 8, `polled every 50 ms: ${attempts} attempts`);
});

test('retry now and retry after do not count as held; a result ends the wait; a cancel ends it between attempts', async () => {
	const steps: Array<Attempt<string>> = [
		{ retry: 'now' },
		{ retry: 'after', ms: 20 },
		{ held: 'held' },
		{ result: 'acquired' },
	];
	const waited: number[] = [];
	assert.equal(
		await waitForLock(
			{ waitMs: 1000, pollMs: 10 },
			() => 'canceled',
			async (elapsed) => (waited.push(elapsed()), steps.shift()!),
		),
		'acquired',
	);
	assert.equal(waited.length, 4);
	assert.ok(waited[2] >= 20, 'the pause was taken');
	const controller = new AbortController();
	setTimeout(() => controller.abort(), 50);
	const started = Date.now();
	assert.equal(
		await waitForLock(
			{ waitMs: 10_000, signal: controller.signal },
			(waitedMs) => `canceled after ${waitedMs >= 40 ? 'the cancel' : 'too early'}`,
			async () => ({ held: 'held' }),
		),
		'canceled after the cancel',
	);
	assert.ok(Date.now() - started < 1000, 'the cancel cuts the poll short');
});
