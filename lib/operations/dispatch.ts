/**
 * The one dispatch from an operation to its run, for the node and the command line alike: a user's command runs as
 * the job itself, the built-in operations run our worker. A new operation is one entry in OPERATIONS. Consecutive
 * built-in runs that can share a worker (same database, confinement, limits and supervision) run as one batch.
 */
import type { Outcome } from '../outcome/outcome';
import type { RunHooks } from '../run/events';
import type { RunOptions } from '../run/options';
import { runUnderLock } from '../run/supervise';
import type { IngestSpec, SqlSpec } from './spec';
import type { InsertSpec } from './insert-rows/spec';
import type { OperationRunOptions, Task } from './supervise-worker';

/**
 * The built-in operations' side, loaded on first use: a run of a user's command never loads it (require: import()
 * would start the ESM loader).
 */
function workerSide(): typeof import('./supervise-worker') {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return require('./supervise-worker') as typeof import('./supervise-worker');
}

/** What a run of a user's command needs beyond the supervision: the command itself and how it runs. */
export type CommandRequest = Pick<RunOptions, 'databasePath' | 'command' | 'shell' | 'cwd' | 'env' | 'inheritEnv'>;

export type OperationRequest =
	| { operation: 'runCommand'; command: CommandRequest }
	| { operation: 'ingestFiles'; spec: IngestSpec }
	| { operation: 'runSql'; spec: SqlSpec }
	| { operation: 'insertRows'; spec: InsertSpec };

/** A run checked and ready: its request, its supervision, and for the built-in operations the worker's task. */
export interface PreparedRun {
	request: OperationRequest;
	supervision: OperationRunOptions;
	task?: Task;
	/** Runs with equal keys can share one lock and worker; none for a user's command (each is its own job). */
	key?: string;
}

/** The supervision as data: equal for runs that may share one lock (the cancel signal is the execution's own). */
function supervisionKey(supervision: OperationRunOptions): string | undefined {
	const data: Partial<OperationRunOptions> = { ...supervision };
	delete data.signal;
	let plain = true;
	const text = JSON.stringify(data, (_name, value: unknown) => {
		if (typeof value === 'function') plain = false;
		return value;
	});
	return plain ? text : undefined;
}

/** Checks a request. Throws only UsageError (bad input), before anything is created. */
export function prepareRun(request: OperationRequest, supervision: OperationRunOptions): PreparedRun {
	if (request.operation === 'runCommand') return { request, supervision };
	const { taskFor, workerKey } = workerSide();
	const task = taskFor(request);
	const supervised = supervisionKey(supervision);
	return { request, supervision, task, key: supervised && `${workerKey(task)}|${supervised}` };
}

/** Whether `next` may join the batch that `first` opened. */
export function sameWorker(first: PreparedRun, next: PreparedRun): boolean {
	return first.key !== undefined && first.key === next.key;
}

/** Runs prepared runs (one, or a batch whose runs are all sameWorker), one outcome each, in order. */
export async function runPrepared(runs: PreparedRun[], hooks: RunHooks = {}): Promise<Outcome[]> {
	const [first] = runs;
	if (runs.some((run) => run !== first && !sameWorker(first, run)))
		throw new Error('runPrepared: these runs cannot share one worker');
	if (first.request.operation === 'runCommand')
		return [await runUnderLock({ ...first.supervision, ...first.request.command }, hooks)];
	const { runWorker } = workerSide();
	return runWorker(
		runs.map((run) => run.task!),
		first.supervision,
		hooks,
	);
}

/** Runs one operation under the lock. Throws only UsageError (bad input), before anything is created. */
export async function runOperation(
	request: OperationRequest,
	supervision: OperationRunOptions,
	hooks: RunHooks = {},
): Promise<Outcome> {
	const [outcome] = await runPrepared([prepareRun(request, supervision)], hooks);
	return outcome;
}
