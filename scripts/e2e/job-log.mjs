// Reading the JSON-lines log that scripts/e2e/hold-job.mjs writes ("start" before it opens the database, "holding"
// once it holds it, "end" after it closed it): the runs, whether two ever overlapped, and the jobs still alive (for a test's own cleanup).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './harness.mjs';

/**
 * [{ execution, host, pid, start, holding?, end? }] in start order: `holding` once it holds the database, `end` missing
 * for a job that never finished.
 */
export function jobRuns(file) {
	if (!existsSync(file)) return [];
	const runs = new Map();
	for (const line of readFileSync(file, 'utf8').split('\n')) {
		if (!line.trim()) continue;
		const entry = JSON.parse(line);
		const key = `${entry.host}/${entry.pid}/${entry.execution}`;
		const run = runs.get(key) ?? { execution: entry.execution, host: entry.host, pid: entry.pid };
		run[entry.event] = entry.t;
		runs.set(key, run);
	}
	return [...runs.values()].sort((a, b) => a.start - b.start);
}

/** Pure: the pairs of runs whose [start, end] intervals overlap (a run without an end lasts forever). */
export function overlaps(runs) {
	const found = [];
	const sorted = [...runs].sort((a, b) => a.start - b.start);
	for (let i = 0; i < sorted.length; i++) {
		for (let j = i + 1; j < sorted.length; j++) {
			if (sorted[j].start <= (sorted[i].end ?? Infinity)) found.push([sorted[i], sorted[j]]);
		}
	}
	return found;
}

/** Waits until a run matching `predicate` has started; returns it. */
export async function startedRun(file, predicate = () => true, what = 'a job to start') {
	let found;
	await waitFor(
		() => {
			found = jobRuns(file).find((run) => run.start && predicate(run));
			return Boolean(found);
		},
		{ timeoutMs: 120_000, intervalMs: 50, what },
	);
	return found;
}

/**
 * The logged jobs still alive in this PID namespace: the PID it logged runs hold-job.mjs with this log and its
 * execution id, and started before it logged (so the PID was not reused since).
 */
export function aliveJobs(file) {
	return jobRuns(file).filter((run) => hostPidOf(file, run.execution) === run.pid && startedBy(run.pid, run.start));
}

/** Whether process `pid` started no later than `t` (ms since the epoch), from its start time in /proc. */
function startedBy(pid, t) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
		const bootMs = Date.now() - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
		return bootMs + (startTicks / 100) * 1000 <= t + 1000; // USER_HZ is 100 on Linux; 1 s of slack for rounding
	} catch {
		return false;
	}
}

/**
 * The PID, as this (the host's) PID namespace sees it, of the hold job of n8n execution `execution` logging to `file`:
 * a queue-mode worker's job logs the PID its own namespace gives it.
 */
export function hostPidOf(file, execution) {
	for (const name of readdirSync('/proc')) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
			const at = argv.indexOf('--execution');
			if (argv.some((a) => a.endsWith('hold-job.mjs')) && argv.includes(file) && argv[at + 1] === String(execution))
				return Number(name);
		} catch {
			// gone meanwhile
		}
	}
	return undefined;
}
