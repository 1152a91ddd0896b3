/**
 * The worker's reports of a batch: one file, one JSON line `{ "task": N, "report": {...} }` per finished task,
 * written as each task ends (so a worker SIGKILLed halfway still leaves the reports of the tasks it finished, and a
 * task it committed is never reported as not run). The one place that knows this format.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { WorkerReport } from './batch-outcome';

/** Appends reports to the batch's results file; opened once per worker. */
export class ResultsWriter {
	private readonly fd: number;

	constructor(path: string) {
		this.fd = openSync(path, 'a', 0o600);
	}

	save(task: number, report: object): void {
		writeSync(this.fd, `${JSON.stringify({ task, report })}\n`);
	}

	close(): void {
		closeSync(this.fd);
	}
}

/** Each task's report (the last one it wrote), or undefined for a task that wrote none. */
export function readResults(path: string, tasks: number): Array<WorkerReport | undefined> {
	const reports: Array<WorkerReport | undefined> = Array.from({ length: tasks }, () => undefined);
	let text = '';
	try {
		text = readFileSync(path, 'utf8');
	} catch {
		// No file: the worker died before any task ended; every task is "not run".
		return reports;
	}
	for (const line of text.split('\n')) {
		try {
			const { task, report } = JSON.parse(line) as { task: number; report: WorkerReport };
			if (Number.isInteger(task) && task >= 0 && task < tasks) reports[task] = report;
		} catch {
			// An empty or torn last line (the worker was SIGKILLed while writing it): that task wrote no report.
		}
	}
	return reports;
}
