/**
 * The worker's reports of a batch: one file of JSON lines, `{ "task": N, "started": true }` when a task begins and
 * `{ "task": N, "report": {...} }` when it ends, each written at once (so a worker SIGKILLed halfway still leaves the
 * reports of the tasks it finished, and the task it was in is known: its committed files stay, it is not "not run").
 * The one place that knows this format.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { TaskResult, WorkerReport } from './batch-outcome';

/** Appends reports to the batch's results file; opened once per worker. */
export class ResultsWriter {
	private readonly fd: number;

	constructor(path: string) {
		this.fd = openSync(path, 'a', 0o600);
	}

	started(task: number): void {
		writeSync(this.fd, `${JSON.stringify({ task, started: true })}\n`);
	}

	save(task: number, report: object): void {
		writeSync(this.fd, `${JSON.stringify({ task, report })}\n`);
	}

	close(): void {
		closeSync(this.fd);
	}
}

/** Each task's result; a task of a worker that died before it began has neither report nor start. */
export function readResults(path: string, tasks: number): TaskResult[] {
	const results: TaskResult[] = Array.from({ length: tasks }, () => ({ started: false }));
	let text = '';
	try {
		text = readFileSync(path, 'utf8');
	} catch {
		// No file: the worker died before any task began.
		return results;
	}
	for (const line of text.split('\n')) {
		try {
			const { task, report } = JSON.parse(line) as { task: number; report?: WorkerReport };
			if (!Number.isInteger(task) || task < 0 || task >= tasks) continue;
			results[task].started = true;
			if (report) results[task].report = report;
		} catch {
			// An empty or torn last line (the worker was SIGKILLed while writing it): nothing more about that task.
		}
	}
	return results;
}
