/**
 * Supervised-run benchmarks, side by side in one run:
 * - overhead: `true` through runUnderLock against a bare spawn of `true`, without a database file (with one, in
 *   both kinds of PID namespace: bench/fast.ts);
 * - timeout precision: deadline → job dead, for a TERM-obeying and a TERM-ignoring job (against deadline + grace);
 * - output throughput: a job writing 1 GiB through the supervisor (tails, log file) against `| cat > /dev/null`,
 *   with the supervisor's peak RSS.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { runUnderLock } from '../lib/run/supervise';
import { loadExeca } from '../lib/proc/execa';
import { startJob } from '../lib/proc/start';
import type { Outcome } from '../lib/outcome/outcome';
import { nodeChild, tempDir } from '../test/helpers/processes';
import { line, median, nowUs } from './stats';

function bareSpawn(command: string, args: string[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		child.stdout.resume();
		child.stderr.resume();
		child.once('error', reject);
		child.once('close', () => resolve());
	});
}

async function deadlineToDeadMs(
	db: string,
	command: string[],
	timeoutMs: number,
	graceMs: number,
): Promise<{ lateMs: number; sigkill: boolean }> {
	let jobStartedUs = 0;
	const outcome = await runUnderLock(
		{ databasePath: db, command, timeoutMs, graceMs },
		{
			onEvent: (event) => {
				if (event.type === 'job-started') jobStartedUs = nowUs();
			},
		},
	);
	const termination = outcome.termination;
	if (outcome.status !== 'timeout' || !termination || termination.groupGoneAfterMs === undefined)
		throw new Error(`unexpected outcome ${outcome.summary}`);
	const jobStartedMs = Date.now() - (nowUs() - jobStartedUs) / 1000;
	const deadMs = Date.parse(termination.sigtermAt) + termination.groupGoneAfterMs;
	const target = jobStartedMs + timeoutMs + (termination.sigkillSent ? graceMs : 0);
	return { lateMs: deadMs - target, sigkill: termination.sigkillSent };
}

export async function benchRun(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-');
	try {
		const db = join(dir.path, 'bench.duckdb');
		await runUnderLock({ databasePath: db, command: ['true'] }); // load execa once
		const supervised: number[] = [];
		const bare: number[] = [];
		for (let i = 0; i < 150; i++) {
			let start = nowUs();
			await bareSpawn('true', []);
			bare.push(nowUs() - start);
			start = nowUs();
			const outcome = await runUnderLock({ databasePath: db, command: ['true'] });
			if (outcome.status !== 'success') throw new Error(outcome.summary);
			supervised.push(nowUs() - start);
		}
		const supervisedMs = median(supervised) / 1000;
		const bareMs = median(bare) / 1000;
		line('run overhead (true)', {
			supervised_median_ms: supervisedMs,
			bare_spawn_median_ms: bareMs,
			added_ms: supervisedMs - bareMs,
			goal: '<5ms',
		});

		// The gate (a /bin/sh that waits until the lock names the job, then execs it) against spawning the job directly.
		const gated: number[] = [];
		const direct: number[] = [];
		const execa = await loadExeca();
		for (let i = 0; i < 150; i++) {
			let start = nowUs();
			await execa('true', [], { detached: true, stdin: 'ignore', reject: false });
			direct.push(nowUs() - start);
			start = nowUs();
			const job = await startJob({ file: 'true', args: [], cwd: process.cwd(), env: {} });
			if (!('pid' in job)) throw new Error(job.error);
			job.release();
			await job.exited;
			gated.push(nowUs() - start);
		}
		line('run start gate', {
			gated_start_to_exit_median_ms: median(gated) / 1000,
			direct_start_to_exit_median_ms: median(direct) / 1000,
			added_ms: (median(gated) - median(direct)) / 1000,
			goal: '<2ms',
		});

		const obeying: number[] = [];
		const ignoring: number[] = [];
		for (let i = 0; i < 5; i++) {
			obeying.push((await deadlineToDeadMs(db, ['sleep', '600'], 300, 300)).lateMs);
			const result = await deadlineToDeadMs(db, ['sh', '-c', 'trap "" TERM; while :; do sleep 1; done'], 300, 300);
			if (!result.sigkill) throw new Error('the TERM-ignoring job did not need SIGKILL');
			ignoring.push(result.lateMs);
		}
		line('run timeout precision', {
			term_obeying_deadline_to_dead_median_ms: median(obeying),
			term_ignoring_deadline_plus_grace_to_dead_median_ms: median(ignoring),
			worst_ms: Math.max(...obeying, ...ignoring),
			goal: '<=50ms',
		});

		const bytes = 1024 * 1024 * 1024;
		const producer = `head -c ${bytes} /dev/zero`;
		const log = join(dir.path, 'throughput.log');
		const timed = async (work: () => Promise<void>): Promise<number> => {
			const start = nowUs();
			await work();
			return (nowUs() - start) / 1e6;
		};
		// Timed inside the supervising process (outcome.durationMs), so Node's own start-up is not counted.
		const supervisedRun = async (logFile?: string): Promise<{ seconds: number; rssMb: number }> => {
			const actor = nodeChild('run-actor', [
				JSON.stringify({ databasePath: db, command: ['sh', '-c', producer], logFile, timeoutMs: 600_000 }),
			]);
			const { outcome, maxRssMb } = await actor.next<{ outcome: Outcome; maxRssMb: number }>('outcome', 600_000);
			if (outcome.output.stdout.bytes !== bytes) throw new Error(`lost output: ${outcome.output.stdout.bytes}`);
			return { seconds: outcome.durationMs / 1000, rssMb: maxRssMb };
		};
		const floorS = await timed(() => bareSpawn('sh', ['-c', `${producer} | cat > /dev/null`]));
		const { seconds: withoutLogS, rssMb: rssWithoutLog } = await supervisedRun();
		const fileFloorS = await timed(() => bareSpawn('sh', ['-c', `${producer} | cat > ${log}`]));
		rmSync(log, { force: true });
		const { seconds: withLogS, rssMb: rssWithLog } = await supervisedRun(log);
		rmSync(log, { force: true });
		const mbps = (seconds: number): number => bytes / 1e6 / seconds;
		line('run output 1GiB', {
			supervised_MBps: mbps(withoutLogS),
			cat_devnull_MBps: mbps(floorS),
			ratio: floorS / withoutLogS,
			supervisor_peak_rss_mb: rssWithoutLog,
			goal: 'ratio>=0.7 rss<100MB',
		});
		line('run output 1GiB with log file', {
			supervised_MBps: mbps(withLogS),
			cat_to_file_MBps: mbps(fileFloorS),
			ratio_vs_cat_to_file: fileFloorS / withLogS,
			ratio_vs_cat_devnull: floorS / withLogS,
			supervisor_peak_rss_mb: rssWithLog,
		});
	} finally {
		dir.remove();
	}
}
