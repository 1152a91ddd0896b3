/**
 * The built-in operations on the supervisor's side: check the spec, hand it to the worker process as a task file,
 * run the worker under the lock like any job (timeout, cancellation, the same outcome), then attach the worker's
 * report to the outcome.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseLockConflict } from '../duckdb/lock-conflict';
import { inheritedEnvFilter } from '../proc/allowlist';
import { hostName } from '../proc/identity';
import type { Outcome } from '../outcome/outcome';
import { summarize } from '../outcome/summary';
import { runUnderLock } from '../run/supervise';
import type { IngestReport, SqlReport } from '../outcome/operation-reports';
import {
	fileAccessFor,
	resolveIngestSpec,
	resolveSqlSpec,
	type IngestSpec,
	type SqlSpec,
	type WorkerTask,
} from './spec';
import { type RunOptions } from '../run/options';
import { type RunHooks } from '../run/events';

/** How to supervise the worker: everything of a run except what the operation decides (command, shell, env). */
export type OperationRunOptions = Omit<
	RunOptions,
	'databasePath' | 'command' | 'shell' | 'operation' | 'env' | 'cwd' | 'probeDatabase' | 'inheritEnv'
>;

const WORKER = join(__dirname, 'worker.js');

/** The worker's result file: its report, and `phase: 'open'` when it failed to open the database. */
type WorkerReport = IngestReport & SqlReport & { phase?: 'open' };

type Task = WorkerTask extends infer T ? (T extends WorkerTask ? Omit<T, 'resultPath'> : never) : never;

function readReport<T>(path: string): T | undefined {
	try {
		return JSON.parse(readFileSync(path, 'utf8')) as T;
	} catch {
		// No report: the worker was SIGKILLed or died before writing it; the outcome's output tails say what happened.
		return undefined;
	}
}

async function runWorker(task: Task, run: OperationRunOptions, hooks: RunHooks): Promise<Outcome> {
	const folder = mkdtempSync(join(tmpdir(), 'duckdb-safe-ingest-'));
	try {
		const taskPath = join(folder, 'task.json');
		const resultPath = join(folder, 'result.json');
		writeFileSync(taskPath, JSON.stringify({ ...task, resultPath }), { mode: 0o600 });
		return await runUnderLock(
			// The worker's own open asks DuckDB who holds the database (a conflict becomes Blocked): no separate probe.
			// It needs nothing of the supervisor's environment (n8n's secrets among it) beyond the safe base.
			{
				...run,
				databasePath: task.spec.databasePath,
				operation: task.operation,
				command: [process.execPath, WORKER, taskPath],
				probeDatabase: false,
				passWaitDeadline: true,
				inheritEnv: inheritedEnvFilter(undefined),
				// The worker's report goes into the outcome before the After hook and the events see it.
				finishOutcome: (outcome) => withReport(outcome, task.operation, readReport<WorkerReport>(resultPath)),
			},
			hooks,
		);
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

/** Ingest Files under the lock. Throws only UsageError (bad spec or run options), before anything is created. */
export async function runIngestFiles(
	spec: IngestSpec,
	run: OperationRunOptions,
	hooks: RunHooks = {},
): Promise<Outcome> {
	const resolved = resolveIngestSpec({ ...spec, databasePath: resolve(spec.databasePath) });
	const access = fileAccessFor(resolved.databasePath, resolved.sources, spec.extraDirectories);
	return runWorker({ operation: 'ingestFiles', spec: resolved, access }, run, hooks);
}

/** Run SQL under the lock, in one transaction. Throws only UsageError, before anything is created. */
export async function runSqlScript(spec: SqlSpec, run: OperationRunOptions, hooks: RunHooks = {}): Promise<Outcome> {
	const resolved = resolveSqlSpec({ ...spec, databasePath: resolve(spec.databasePath) });
	const access = fileAccessFor(resolved.databasePath, [], spec.extraDirectories);
	return runWorker({ operation: 'runSql', spec: resolved, access }, run, hooks);
}
