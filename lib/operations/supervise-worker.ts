/**
 * The built-in operations on the supervisor's side: check the spec, hand it to the worker process as a task file,
 * run the worker under the lock like any job (timeout, cancellation, the same outcome), then attach the worker's
 * report to the outcome. Several tasks on one database (the items of one node execution) share one lock and one
 * worker: each keeps its own transaction, report and outcome (lib/operations/batch-outcome.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseLockConflict } from '../duckdb/lock-conflict';
import { inheritedEnvFilter } from '../proc/allowlist';
import { hostName } from '../proc/identity';
import type { Outcome } from '../outcome/outcome';
import { summarize } from '../outcome/summary';
import { batchOutcome, isItemStart, itemOutcome, type TaskResult, type WorkerReport } from './batch-outcome';
import { readResults } from './batch-results';
import { runUnderLock } from '../run/supervise';
import type { IngestReport, InsertReport, SqlReport } from '../outcome/operation-reports';
import { resolveInsertSpec, type InsertSpec } from './insert-rows/spec';
import { RowFileWriter } from './insert-rows/row-file';
import { fileAccessFor, resolveIngestSpec, resolveSqlSpec, type IngestSpec, type SqlSpec } from './spec';
import type { WorkerBatch, WorkerTask } from './worker-task';
import { type RunOptions } from '../run/options';
import { type RunHooks } from '../run/events';

/** How to supervise the worker: everything of a run except what the operation decides (command, shell, env). */
export type OperationRunOptions = Omit<
	RunOptions,
	'databasePath' | 'command' | 'shell' | 'operation' | 'env' | 'cwd' | 'probeDatabase' | 'inheritEnv'
>;

const WORKER = join(__dirname, 'worker.js');

/** A checked task. */
export type Task = WorkerTask;

/**
 * Runs tasks (at least one, all for one worker: see workerKey) in one worker under one lock; one outcome per task.
 * The run's own outcome (what the After hook and the events see) is the single task's, or the batch's.
 */
export async function runWorker(tasks: Task[], run: OperationRunOptions, hooks: RunHooks = {}): Promise<Outcome[]> {
	const folder = mkdtempSync(join(tmpdir(), 'duckdb-safe-ingest-'));
	const operation = tasks[0].operation;
	try {
		const batchPath = join(folder, 'batch.json');
		const batch: WorkerBatch = { tasks, resultsPath: join(folder, 'results.jsonl') };
		writeFileSync(batchPath, JSON.stringify(batch), { mode: 0o600 });
		let results: TaskResult[] = [];
		const group = await runUnderLock(
			// The worker's own open asks DuckDB who holds the database (a conflict becomes Blocked): no separate probe.
			// It needs nothing of the supervisor's environment (n8n's secrets among it) beyond the safe base.
			{
				...run,
				databasePath: tasks[0].spec.databasePath,
				operation,
				command: [process.execPath, WORKER, batchPath],
				probeDatabase: false,
				passWaitDeadline: true,
				inheritEnv: inheritedEnvFilter(undefined),
				// Each item of a batch gets the whole timeout: it starts over when the worker says an item begins.
				timeoutRestartsOn: tasks.length > 1 ? isItemStart : undefined,
				// The worker's reports go into the outcome before the After hook and the events see it.
				finishOutcome: (outcome) => {
					results = readResults(batch.resultsPath, tasks.length);
					const attach = (body: Outcome, report: WorkerReport | undefined): Outcome =>
						withReport(body, operation, report);
					return tasks.length === 1 ? attach(outcome, results[0].report) : batchOutcome(outcome, results, attach);
				},
			},
			hooks,
		);
		if (tasks.length === 1) return [group];
		const outcomes = results.map((result, index) =>
			itemOutcome(group, result, { position: index + 1, items: tasks.length }, (body, report) =>
				withReport(body, operation, report),
			),
		);
		// One item ran out of time: the items the worker never began run on in a new worker, as they would have alone.
		const rest = group.status === 'timeout' ? results.findIndex((result) => !result.started) : -1;
		if (rest < 0) return outcomes;
		return [...outcomes.slice(0, rest), ...(await runWorker(tasks.slice(rest), run, hooks))];
	} finally {
		rmSync(folder, { recursive: true, force: true });
	}
}

/** Exported for tests. */
export function withReport(outcome: Outcome, operation: Task['operation'], report: WorkerReport | undefined): Outcome {
	// The generic summary is rebuilt below, once the report is attached.
	const body: Omit<Outcome, 'summary'> & { summary?: string } = { ...outcome };
	delete body.summary;
	const status = body.status;
	const details: Partial<WorkerReport> = { ...report };
	delete details.phase;
	if (report && operation === 'ingestFiles' && 'files' in report) body.ingest = details as IngestReport;
	if (report && operation === 'runSql' && 'statements' in report) body.sql = details as SqlReport;
	if (report && operation === 'insertRows' && 'landedItems' in report) body.insert = details as unknown as InsertReport;
	const failure = report?.error ?? report?.perFile?.find((file) => file.status === 'failed')?.detail;
	if (status === 'failed' && failure) body.error = failure;
	// Someone took DuckDB's lock between our check and the worker's open: that is Blocked, with the holder.
	const conflict =
		status === 'failed' && report?.phase === 'open' && report.error ? parseLockConflict(report.error) : undefined;
	if (conflict) {
		body.status = 'blocked';
		body.holder = {
			pid: conflict.pid > 0 ? conflict.pid : null,
			host: hostName(),
			command: conflict.program,
			role: 'unknown',
			identityProven: false,
			remote: false,
			source: 'duckdb-probe',
			detail: "took DuckDB's lock on the database just before the worker opened it",
		};
	}
	const { status: final, ...fields } = body;
	return { status: final, summary: summarize(body), ...fields };
}

/** A checked task for a spec. Throws only UsageError (a bad spec), before anything is created. */
export function taskFor(
	request:
		| { operation: 'ingestFiles'; spec: IngestSpec }
		| { operation: 'runSql'; spec: SqlSpec }
		| { operation: 'insertRows'; spec: InsertSpec },
): Task {
	if (request.operation === 'insertRows') {
		const spec = resolveInsertSpec({ ...request.spec, databasePath: resolve(request.spec.databasePath) });
		return {
			operation: 'insertRows',
			spec,
			access: fileAccessFor(spec.databasePath, [], request.spec.extraDirectories),
		};
	}
	if (request.operation === 'ingestFiles') {
		const spec = resolveIngestSpec({ ...request.spec, databasePath: resolve(request.spec.databasePath) });
		const access = fileAccessFor(spec.databasePath, spec.sources, request.spec.extraDirectories);
		return { operation: 'ingestFiles', spec, access };
	}
	const spec = resolveSqlSpec({ ...request.spec, databasePath: resolve(request.spec.databasePath) });
	return { operation: 'runSql', spec, access: fileAccessFor(spec.databasePath, [], request.spec.extraDirectories) };
}

/** Tasks with the same key can share one worker: the same operation, database, confinement and limits. */
export function workerKey(task: Task): string {
	const { threads, memoryLimit, databasePath } = task.spec;
	return JSON.stringify([task.operation, databasePath, threads, memoryLimit, task.access]);
}

/** Ingest Files under the lock. Throws only UsageError (bad spec or run options), before anything is created. */
export async function runIngestFiles(
	spec: IngestSpec,
	run: OperationRunOptions,
	hooks: RunHooks = {},
): Promise<Outcome> {
	const [outcome] = await runWorker([taskFor({ operation: 'ingestFiles', spec })], run, hooks);
	return outcome;
}

/** Run SQL under the lock, in one transaction. Throws only UsageError, before anything is created. */
export async function runSqlScript(spec: SqlSpec, run: OperationRunOptions, hooks: RunHooks = {}): Promise<Outcome> {
	const [outcome] = await runWorker([taskFor({ operation: 'runSql', spec })], run, hooks);
	return outcome;
}

/** Insert Rows under the lock: the rows written to a private row file on the way, removed after the run. */
export async function runInsertRows(
	rows: Iterable<Record<string, unknown>>,
	spec: Omit<InsertSpec, 'rows'>,
	run: OperationRunOptions,
	hooks: RunHooks = {},
): Promise<Outcome> {
	const writer = new RowFileWriter();
	try {
		for (const row of rows) writer.add(row);
		const [outcome] = await runWorker(
			[taskFor({ operation: 'insertRows', spec: { ...spec, rows: writer.finish() } })],
			run,
			hooks,
		);
		return outcome;
	} finally {
		writer.dispose();
	}
}
