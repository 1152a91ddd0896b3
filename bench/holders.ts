/**
 * Finding the holders of a database with many idle processes on the machine, against a bare read of /proc/locks,
 * at 100 and 1,000 extra processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { findDatabaseHolders } from '../lib/duckdb/database-holders';
import { nodeChild, tempDir } from '../test/helpers/processes';
import { line, median, nowUs } from './stats';

function timeMany(work: () => unknown, rounds: number): number {
	const times: number[] = [];
	for (let i = 0; i < rounds; i++) {
		const start = nowUs();
		work();
		times.push(nowUs() - start);
	}
	return median(times) / 1000;
}

async function timeManyAsync(work: () => Promise<unknown>, rounds: number): Promise<number> {
	const times: number[] = [];
	for (let i = 0; i < rounds; i++) {
		const start = nowUs();
		await work();
		times.push(nowUs() - start);
	}
	return median(times) / 1000;
}

export async function benchHolders(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-');
	const idle: ChildProcess[] = [];
	const db = join(dir.path, 'held.duckdb');
	const writer = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'write' })]);
	try {
		await writer.next('ready', 60_000);
		for (const target of [100, 1000]) {
			while (idle.length < target) idle.push(spawn('sleep', ['600'], { stdio: 'ignore' }));
			await new Promise((resolve) => setTimeout(resolve, 500));
			const check = await findDatabaseHolders(db);
			if (check[0]?.pid !== writer.pid) throw new Error('the holder was not found');
			const bareMs = timeMany(() => readFileSync('/proc/locks', 'utf8'), 50);
			const locksOnlyMs = await timeManyAsync(() => findDatabaseHolders(db, { includeOpen: false }), 20);
			const withFdScanMs = await timeManyAsync(() => findDatabaseHolders(db), 5);
			line(`holders with ${target} idle processes`, {
				bare_proc_locks_ms: bareMs,
				holders_locks_only_ms: locksOnlyMs,
				holders_with_fd_scan_ms: withFdScanMs,
			});
		}
	} finally {
		for (const child of idle) child.kill('SIGKILL');
		writer.child.kill('SIGKILL');
		dir.remove();
	}
}
