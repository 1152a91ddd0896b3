/** Process facts from /proc: the stat line's parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStat } from '../../lib/proc/identity';

test('/proc/<pid>/stat is parsed after the last parenthesis (names may contain spaces and parentheses)', () => {
	const stat = '123 (evil ) S 1 2 (x)) Z 7 123 123 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0';
	assert.deepEqual(parseStat(stat), {
		pid: 123,
		name: 'evil ) S 1 2 (x)',
		state: 'Z',
		ppid: 7,
		pgid: 123,
		startTicks: 98765,
	});
	assert.equal(parseStat('garbage'), undefined);
});
