/** 32 real processes racing for one lock, many rounds: always exactly one winner, also over a stale lock. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

import { serializeRecord, pidFilePathFor } from '../../lib/lock/pid-file-format';
import { bootId, hostName } from '../../lib/proc/identity';
import { stopAll, tempDir } from '../helpers/processes';
import { Racers } from '../helpers/racers';

const dir = tempDir();
after(() => {
	stopAll();
	dir.remove();
});

const ROUNDS = 25;

/** A lock record of a process that is gone: its PID is unused or, if a process has it now, started at another time (start tick 1). */
function deadHolderRecord(): string {
	return serializeRecord({
		pid: 4_194_000,
		role: 'job',
		pidStart: 1,
		command: 'python3 crashed.py',
		host: hostName(),
		bootId: bootId(),
		pidNamespace: '',
		lockedAt: new Date(0).toISOString(),
		owner: 'crashed run',
		supervisor: { pid: 4_194_001, startTicks: 1, command: 'n8n' },
		token: 'dead',
	});
}

test(`32 concurrent acquirers in separate processes: exactly one wins, ${ROUNDS} rounds`, async () => {
	const racers = await Racers.start(32);
	try {
		for (let round = 0; round < ROUNDS; round++) {
			const db = join(dir.path, `race-${round}.duckdb`);
			const result = await racers.race(db);
			assert.equal(result.winners, 1, `round ${round}`);
			assert.equal(result.recoveredCount, 0);
			assert.equal(existsSync(pidFilePathFor(db)), false, 'the winner released');
		}
	} finally {
		racers.stop();
	}
});

test(`concurrent recoveries of one stale lock (2 and 32 racers): exactly one winner, removed once, ${ROUNDS} rounds`, async () => {
	for (const count of [2, 32]) {
		const racers = await Racers.start(count);
		try {
			for (let round = 0; round < ROUNDS; round++) {
				const db = join(dir.path, `stale-${count}-${round}.duckdb`);
				const result = await racers.race(db, { staleFrom: deadHolderRecord() });
				assert.equal(result.winners, 1, `${count} racers, round ${round}`);
				assert.equal(
					result.recoveredCount,
					1,
					`the stale file is removed exactly once (${count} racers, round ${round})`,
				);
				assert.deepEqual(result.stalenessReasons, ['dead']);
				assert.equal(existsSync(`${pidFilePathFor(db)}.recover`), false, 'no recovery claim is left behind');
			}
		} finally {
			racers.stop();
		}
	}
});
