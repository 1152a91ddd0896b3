/** Durations as people write them, and as summaries show them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../lib/base/duration';

test('durations: bare numbers are minutes; units s, m, h, d, ms; garbage is refused', () => {
	assert.equal(parseDuration('120', 'timeout'), 120 * 60_000);
	assert.equal(parseDuration('90s', 'timeout'), 90_000);
	assert.equal(parseDuration('1.5h', 'timeout'), 5_400_000);
	assert.equal(parseDuration('250ms', 'grace'), 250);
	assert.equal(parseDuration('10', 'grace', 's'), 10_000);
	for (const bad of ['', 'abc', '-5', '5x', '1e3', '10 minutes'])
		assert.throws(() => parseDuration(bad, 'timeout'), /not a duration/);
	assert.equal(formatDuration(4 * 3_600_000 + 52 * 60_000), '4h52m');
	assert.equal(formatDuration(850), '850ms');
});
