/**
 * runUnderLock: one supervised run as a sequence of named phases.
 *
 *   check the options → take our PID file (with the wait) → the Afters earlier runs owed → Before → wait for
 *   DuckDB's own lock (the rest of the wait) → start the job in its own process group → watch it (deadline, cancel,
 *   lost lock) → stop its group when needed → After (on every path once Before was attempted) → release the lock
 *
 * The lock is released on every path, a job never runs without it, and the Outcome is made once, after the release.
 */
import { messageOf } from '../base/errors';
import { failpoint } from '../base/failpoint';
import type { TakeResult } from '../lock/database-lock';
import type { Outcome } from '../outcome/outcome';
import { holderFromDatabase, holderFromInspection, recoveredReport } from '../outcome/holder-reports';
import { EMPTY_STREAM, notStarted, outcomeOf, prepareRun, type OutcomeBody, type RunContext } from './context';
import type { RunHooks } from './events';
import { HeldRunLock, takeLock } from './held-lock';
import { runJob } from './job';
import type { RunOptions } from './options';
import { LogFile } from './output';
import { waitForDatabase } from './database-wait';
import { Handshake } from './handshake';

/** The outcome of a run that did not get the lock: held (Blocked), canceled, the backend unavailable, an After owed. */
function notAcquired(run: RunContext, taken: Exclude<TakeResult, { acquired: true }>): OutcomeBody {
	const lock = {
		pidFile: run.pidFile,
		...run.backend,
		acquired: false,
		waitedMs: taken.waitedMs,
		recovered: taken.recovered.map(recoveredReport),
		released: false,
	};
	if (taken.reason === 'after-pending') {
		const pid = taken.previous.kind === 'record' ? taken.previous.record.pid : taken.previous.pid;
		return notStarted({ status: 'blocked', lock, afterPending: { ...taken.pending, pid } });
	}
	return notStarted({
		status: taken.reason === 'canceled' ? 'canceled' : 'blocked',
		lock,
		holder: taken.reason === 'held' ? holderFromInspection(taken.inspection) : undefined,
		error: taken.reason === 'unavailable' ? taken.detail : undefined,
	});
}

/**
 * With our PID file ours: the handshake's Before, then is the run still wanted, still ours, and is the database
 * free? DuckDB's own lock tells whether anyone else (an API server, a duckdb shell, an orphaned job) has it; it is
 * waited for until the rest of the wait is used up. Checked before the job starts, so a probe's brief read lock is
 * harmless. Undefined: go on.
 */
async function beforeStart(run: RunContext, held: HeldRunLock, handshake: Handshake): Promise<OutcomeBody | undefined> {
	const { options } = run;
	const owing = await handshake.payDebts();
	if (owing) return notStarted({ ...owing, lock: held.report() });
	if (options.signal?.aborted) return notStarted({ status: 'canceled', lock: held.report() });
	const refused = await handshake.before();
	if (refused) return notStarted({ ...refused, lock: held.report() });
	held.waitUntilMs = Date.now() + Math.max(0, run.resolved.waitMs - held.waitedMs);
	const { holders: others, waitedMs } = await waitForDatabase(run, held, held.waitUntilMs);
	held.databaseWaitedMs = waitedMs;
	if (options.signal?.aborted) return notStarted({ status: 'canceled', lock: held.report() });
	if (held.lost)
		return notStarted({
			status: 'failed',
			lock: held.report(),
			error: `the lock was lost before the job started (${held.lost}); nothing was run`,
		});
	if (others.length)
		return notStarted({
			status: 'blocked',
			lock: held.report(),
			holder: holderFromDatabase(others[0]),
			holders: others.map(holderFromDatabase),
		});
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
	handshake: Handshake,
	hooks: RunHooks,
	logs: { log?: LogFile },
): Promise<OutcomeBody> {
	const refusal = await beforeStart(run, held, handshake);
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
	const handshake = new Handshake(run, held, hooks);
	const logs: { log?: LogFile } = {};
	const finish = options.finishOutcome ?? ((outcome: Outcome): Outcome => outcome);
	let body: OutcomeBody;
	let release: { released: boolean; note?: string } = { released: false };
	try {
		body = await useLock(run, held, handshake, hooks, logs);
	} catch (error) {
		// A bug of ours (or an I/O error we did not foresee) is an outcome too: the After and the release still follow.
		body = notStarted({ status: 'failed', lock: held.report(), error: `an error of ours: ${messageOf(error)}` });
	} finally {
		// Whatever happened above, the job never runs on without its lock, and the programs sharing the database are
		// told to come back once it is gone; an After that is still owed then stays recorded in the lock.
		logs.log?.close();
		await held.stopLeftovers();
		await handshake.after(finish(outcomeOf(run, { ...body!, hooks: handshake.reports })));
		failpoint('before-release');
		release = await held.release(handshake.owes);
		hooks.onEvent?.({ type: 'lock-released', pidFile: run.pidFile, released: release.released, note: release.note });
	}
	const hookReports = handshake.reports.length ? { hooks: handshake.reports } : {};
	return finish(
		outcomeOf(run, {
			...body,
			...hookReports,
			lock: { ...body.lock, released: release.released, releaseNote: release.note },
		}),
	);
}
