/**
 * The outcomes of a batch: several tasks (the items of one node execution) run by one worker under one lock. Each
 * item gets its own outcome from the run's and its own report: pure decisions, no I/O.
 */
import type { Outcome, OutcomeStatus, StreamSummary } from '../outcome/outcome';
import type { IngestReport, SqlReport } from '../outcome/operation-reports';

/** A task's result file: its report, and `phase: 'open'` when the worker failed to open the database. */
export type WorkerReport = IngestReport & SqlReport & { phase?: 'open' };

/** Attaches a report to an outcome (and rebuilds its summary): supervise-worker's withReport. */
export type AttachReport = (outcome: Outcome, report: WorkerReport | undefined) => Outcome;

export interface BatchPosition {
	/** 1-based place of the item in the batch. */
	position: number;
	items: number;
}

/** The worker's line when an item of a batch begins (after its tag): the supervisor starts the timeout over. */
export const ITEM_STARTED = 'started';

/** Whether a line of the worker's output is an item's start. */
export function isItemStart(stream: 'stdout' | 'stderr', line: string): boolean {
	return stream === 'stdout' && /^\[item \d+\] started$/.test(line);
}

/** What the worker puts before each output line of an item of a batch: `[item N]`. */
export function itemTag(position: number): string {
	return `[item ${position}]`;
}

interface IndexedTail {
	lines: string[];
	/** Line numbers of each item's tagged lines, and of the batch's untagged ones, in order. */
	byItem: Map<number, number[]>;
	untagged: number[];
}

/** Each batch's tails, split once for all its items (an item used to split the whole tail again). */
const indexedTails = new WeakMap<StreamSummary, IndexedTail>();

function indexTail(stream: StreamSummary): IndexedTail {
	const known = indexedTails.get(stream);
	if (known) return known;
	const lines = stream.tail.split('\n');
	const index: IndexedTail = { lines, byItem: new Map(), untagged: [] };
	lines.forEach((line, at) => {
		if (!line.startsWith('[item ')) return void index.untagged.push(at);
		const tag = /^\[item ([1-9]\d*)\] /.exec(line); // as itemTag writes it: no leading zero
		if (!tag) return; // looks like a tag but is none: no item's line
		const position = Number(tag[1]);
		const own = index.byItem.get(position);
		if (own) own.push(at);
		else index.byItem.set(position, [at]);
	});
	indexedTails.set(stream, index);
	return index;
}

/** An item's view of the worker's output tail: its own lines (tag removed) and the batch's untagged ones. */
export function itemTail(stream: StreamSummary, position: number): StreamSummary {
	const { lines, byItem, untagged } = indexTail(stream);
	const own = byItem.get(position) ?? [];
	const cut = `${itemTag(position)} `.length;
	const picked: string[] = [];
	let o = 0;
	let u = 0;
	while (o < own.length || u < untagged.length) {
		if (u >= untagged.length || (o < own.length && own[o] < untagged[u])) picked.push(lines[own[o++]].slice(cut));
		else picked.push(lines[untagged[u++]]);
	}
	return { ...stream, tail: picked.join('\n') };
}

/** What the worker left of one task (lib/operations/batch-results.ts). */
export interface TaskResult {
	report?: WorkerReport;
	started: boolean;
}

/** The run's own outcome: Blocked (with the holder) when the worker's open met another holder, else as it ended. */
export function batchOutcome(outcome: Outcome, results: TaskResult[], attach: AttachReport): Outcome {
	const opening = results.find((result) => result.report?.phase === 'open');
	return opening ? attach(outcome, opening.report) : outcome;
}

/** Whether the task's own work failed (a failed statement or file), from its report. */
function taskFailed(report: WorkerReport): boolean {
	return Boolean(report.error) || (report.files?.failed ?? 0) > 0;
}

/**
 * An item's status: a Blocked run blocks every item; an item the worker finished has its own result; one it did not
 * reach or stopped has the run's (Timeout, Canceled, Failed).
 */
export function itemStatus(run: OutcomeStatus, report: WorkerReport | undefined): OutcomeStatus {
	if (run === 'blocked') return 'blocked';
	if (!report || report.stopped || report.phase === 'open') return run === 'success' ? 'failed' : run;
	return taskFailed(report) ? 'failed' : 'success';
}

/** Why an item has no result of its own: never reached, or ended halfway (what it committed before stays). */
function notFinished(run: Outcome, result: TaskResult, place: BatchPosition): string {
	const why = run.error ?? run.summary;
	const where = `item ${place.position} of ${place.items}`;
	return result.started
		? `${where} was stopped while it ran (what it had committed stays): ${why}`
		: `${where} was not run: ${why}`;
}

/** One item's outcome: the run's (lock, hooks, output tails, termination) with its own status, report and error. */
export function itemOutcome(run: Outcome, result: TaskResult, place: BatchPosition, attach: AttachReport): Outcome {
	const report = result.report;
	const status = itemStatus(run.status, report);
	const output = { ...run.output, stdout: itemTail(run.output.stdout, place.position) };
	output.stderr = itemTail(run.output.stderr, place.position);
	const body: Outcome = { ...run, status, batch: place, output };
	delete body.sql;
	delete body.ingest;
	if (status === 'success') {
		body.exitCode = 0;
		delete body.error;
	} else if (status === 'failed' && report && !report.phase) body.exitCode = 1;
	if (status !== 'blocked' && (!report || report.phase === 'open' || report.stopped))
		body.error = notFinished(run, result, place);
	return attach(body, report?.phase === 'open' ? undefined : report);
}
