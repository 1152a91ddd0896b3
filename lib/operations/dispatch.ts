/**
 * The one dispatch from an operation to its run, for the node and the command line alike: a user's command runs as
 * the job itself, the built-in operations run our worker. A new operation is one entry in OPERATIONS.
 */
import type { Operation, Outcome } from '../outcome/outcome';
import type { RunHooks } from '../run/events';
import type { RunOptions } from '../run/options';
import { runUnderLock } from '../run/supervise';
import type { IngestSpec, SqlSpec } from './spec';
import { runIngestFiles, runSqlScript, type OperationRunOptions } from './supervise-worker';

/** What a run of a user's command needs beyond the supervision: the command itself and how it runs. */
export type CommandRequest = Pick<RunOptions, 'databasePath' | 'command' | 'shell' | 'cwd' | 'env' | 'inheritEnv'>;

export type OperationRequest =
	| { operation: 'runCommand'; command: CommandRequest }
	| { operation: 'ingestFiles'; spec: IngestSpec }
	| { operation: 'runSql'; spec: SqlSpec };

type Runner<O extends Operation> = (
	request: Extract<OperationRequest, { operation: O }>,
	supervision: OperationRunOptions,
	hooks: RunHooks,
) => Promise<Outcome>;

const OPERATIONS: { [O in Operation]: Runner<O> } = {
	runCommand: (request, supervision, hooks) => runUnderLock({ ...supervision, ...request.command }, hooks),
	ingestFiles: (request, supervision, hooks) => runIngestFiles(request.spec, supervision, hooks),
	runSql: (request, supervision, hooks) => runSqlScript(request.spec, supervision, hooks),
};

/** Runs one operation under the lock. Throws only UsageError (bad input), before anything is created. */
export function runOperation(
	request: OperationRequest,
	supervision: OperationRunOptions,
	hooks: RunHooks = {},
): Promise<Outcome> {
	const run = OPERATIONS[request.operation] as Runner<Operation>;
	return run(request as never, supervision, hooks);
}
