/**
 * Lock benchmarks, measured side by side in one run:
 * - acquire+release of the lock against a bare exclusive create+unlink of a file (the floor);
 * - the decision time of 32 processes racing for one lock.
 */
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock } from '../lib/lock/pid-file-lock';
import { tempDir } from '../test/helpers/processes';
import { Racers } from '../test/helpers/racers';
import { line, median, nowUs } from './stats';

export async function benchLock(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-');
	try {
		const db = join(dir.path, 'bench.duckdb');
		const bare = join(dir.path, 'bare.pid');
		const lockTimes: number[] = [];
		const bareTimes: number[] = [];
		for (let i = 0; i < 3000; i++) {
			// Interleaved, so that both see the same machine state.
			let start = nowUs();
			const fd = openSync(bare, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
			closeSync(fd);
			unlinkSync(bare);
			bareTimes.push(nowUs() - start);
			start = nowUs();
			const result = await acquireLock(db);
			if (!result.acquired) throw new Error('benchmark lock unexpectedly held');
			result.lock.release();
			lockTimes.push(nowUs() - start);
		}
		const lockUs = median(lockTimes.slice(500));
		const bareUs = median(bareTimes.slice(500));
		line('lock acquire+release', {
			median_us: lockUs,
			bare_create_unlink_us: bareUs,
			ratio: lockUs / bareUs,
			goal: '<=2x',
		});

		const racers = await Racers.start(32);
		try {
			const decisions: number[] = [];
			for (let round = 0; round < 10; round++) {
				const result = await racers.race(join(dir.path, `race-${round}.duckdb`));
				if (result.winners !== 1) throw new Error(`round ${round}: ${result.winners} winners`);
				decisions.push(result.decisionMs);
			}
			line('lock 32 concurrent acquirers', {
				median_decision_ms: median(decisions),
				max_decision_ms: Math.max(...decisions),
				rounds: 10,
				winners_per_round: 1,
			});
		} finally {
			racers.stop();
		}
	} finally {
		dir.remove();
	}
}
