/**
 * runUnderLock: one supervised run as a sequence of named phases.
 *
 *   check the options → take the lock (with the wait) → check that nothing else holds the database → start the job
 *   in its own process group → watch it (deadline, cancel, lost lock) → stop its group when needed → release the lock
 *
 * The lock is released on every path, a job never runs without it, and the Outcome is made once, after the release.
 */
import { messageOf } from '../base/errors';
import { failpoint } from '../base/failpoint';
import { findDatabaseHolders, lockHolders } from '../duckdb/database-holders';
import type { TakeResult } from '../lock/database-lock';
import type { Outcome } from '../outcome/outcome';
import { holderFromDatabase, holderFromInspection, recoveredReport } from '../outcome/holder-reports';
import { EMPTY_STREAM, notStarted, outcomeOf, prepareRun, type OutcomeBody, type RunContext } from './context';
import type { RunHooks } from './events';
import { HeldRunLock, takeLock } from './held-lock';
import { runJob } from './job';
import type { RunOptions } from './options';
import { LogFile } from './output';

/** The outcome of a run that did not get the lock: held (Blocked), canceled, or the backend unavailable. */
function notAcquired(run: RunContext, taken: Exclude<TakeResult, { acquired: true }>): OutcomeBody {
	const lock = {
		pidFile: run.pidFile,
		...run.backend,
		acquired: false,
		waitedMs: taken.waitedMs,
		recovered: taken.recovered.map(recoveredReport),
		released: false,
	};
	return notStarted({
		status: taken.reason === 'canceled' ? 'canceled' : 'blocked',
		lock,
		holder: taken.reason === 'held' ? holderFromInspection(taken.inspection) : undefined,
		error: taken.reason === 'unavailable' ? taken.detail : undefined,
	});
}

/**
 * With our PID file ours: is the run still wanted, still ours, and is the database free? DuckDB's own lock tells
 * whether anyone else (an API server, a duckdb shell, an orphaned job) has it; checked before the job starts, so a
 * probe's brief read lock is harmless. Undefined: go on.
 */
async function beforeStart(run: RunContext, held: HeldRunLock): Promise<OutcomeBody | undefined> {
	const { options } = run;
	if (options.signal?.aborted) return notStarted({ status: 'canceled', lock: held.report() });
	const others = lockHolders(
		await findDatabaseHolders(run.resolved.databasePath, {
			probe: options.probeDatabase !== false,
			includeOpen: false,
		}),
	);
	if (options.signal?.aborted) return notStarted({ status: 'canceled', lock: held.report() });
	if (held.lost)
		return notStarted({
			status: 'failed',
			lock: held.report(),
			error: `the lock was lost before the job started (${held.lost}); nothing was run`,
		});
	if (others.length)
		return notStarted({ status: 'blocked', lock: held.report(), holder: holderFromDatabase(others[0]) });
	return undefined;
}

/** The log file, opened (it was checked before the lock was taken; a failure now is a change since then). */
function openLog(run: RunContext, held: HeldRunLock): { log?: LogFile; failure?: OutcomeBody } {
	const path = run.resolved.logFile;
	if (!path) return {};
	try {
		const log = new LogFile(path);
		log.write(`--- ${new Date().toISOString()} duckdb-safe-ingest: starting ${run.recordedCommand}\n`);
		return { log };
	} catch (error) {
		const output = { stdout: EMPTY_STREAM, stderr: EMPTY_STREAM, logFile: path };
		return {
			failure: notStarted({
				status: 'failed',
				lock: held.report(),
				error: `the log file ${path} cannot be opened (${messageOf(error)}); nothing was run`,
				output,
			}),
		};
	}
}

async function useLock(
	run: RunContext,
	held: HeldRunLock,
	hooks: RunHooks,
	logs: { log?: LogFile },
): Promise<OutcomeBody> {
	const refusal = await beforeStart(run, held);
	if (refusal) return refusal;
	const opened = openLog(run, held);
	if (opened.failure) return opened.failure;
	logs.log = opened.log;
	return runJob(run, held, opened.log, hooks);
}

/** Runs one job under the database lock and returns its Outcome. Throws only UsageError (bad options). */
export async function runUnderLock(options: RunOptions, hooks: RunHooks = {}): Promise<Outcome> {
	const run = prepareRun(options);
	hooks.onEvent?.({ type: 'lock-check', pidFile: run.pidFile });
	const taken = await takeLock(run);
	if (!taken.acquired) return outcomeOf(run, notAcquired(run, taken));
	const held = new HeldRunLock(run, taken.lock, taken);
	failpoint('lock-taken');
	hooks.onEvent?.({ type: 'lock-acquired', pidFile: run.pidFile, recovered: held.recovered, waitedMs: taken.waitedMs });
	const logs: { log?: LogFile } = {};
	let body: OutcomeBody | undefined;
	let release: { released: boolean; note?: string } = { released: false };
	try {
		body = await useLock(run, held, hooks, logs);
	} finally {
		// Whatever happened above (including a bug of ours), the job never runs on without its lock.
		logs.log?.close();
		failpoint('before-release');
		release = await held.release();
		hooks.onEvent?.({ type: 'lock-released', pidFile: run.pidFile, released: release.released, note: release.note });
	}
	return outcomeOf(run, { ...body, lock: { ...body.lock, released: release.released, releaseNote: release.note } });
}
