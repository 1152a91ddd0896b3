/**
 * The job process of the built-in operations: `node worker.js BATCH.json`. It runs like any job under the supervisor
 * (own process group, lock, timeout, cancellation) and keeps DuckDB's native code and memory out of the supervising
 * process. Progress goes to stdout, one line per file or statement; each task's report is appended to the results
 * file. The tasks of a batch (the items of one node execution) run one after another on one open database, each in
 * its own transaction: a failed task does not stop the next; a stop ends the batch (later tasks write no report).
 *
 * On SIGTERM (timeout, Stop, cleanup) it interrupts the running query, rolls back the open transaction, closes the
 * database and exits 143. If that takes longer than the grace period, the supervisor's SIGKILL follows; DuckDB then
 * replays its WAL on the next open, so only committed files count either way. A SIGTERM that comes before the
 * database is opened (while the sources are listed) exits 143 without opening it; one that comes while DuckDB opens
 * it (which cannot be interrupted) closes it again before any work (no manifest, no table, no statement).
 */
import { existsSync, readFileSync } from 'node:fs';
import { messageOf } from '../base/errors';
import { sleep } from '../base/sleep';
import { parseLockConflict } from '../duckdb/lock-conflict';
import { WAIT_UNTIL_ENV } from '../run/options';
import { emptyReport, ingestFiles, refuseBeforeOpening } from './ingest-files/load';
import { WorkerStop } from './worker-stop';
import { listSources, refusedSource, type SourceFile } from './ingest-files/sources';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openConfined, type OpenDatabase } from '../duckdb/sandbox';
import { builtinTableFunctions, runScript } from './run-sql/script';
import { emptyInsertReport, insertRows } from './insert-rows/insert';
import type { WorkerBatch, WorkerTask } from './worker-task';
import { ResultsWriter } from './batch-results';
import { ITEM_STARTED, itemTag } from './batch-outcome';

const EXIT = { ok: 0, failed: 1, stopped: 143 };
/** runTask's answer when the database could not be opened (its report says why); the worker then exits failed. */
const UNOPENED = -1;

type Save = (report: object) => void;

/** What starts the lines of the task at hand: `[item N] ` in a batch of several (each item's tails keep its own). */
let tag = '';

/** Writes to stderr with every line tagged, so that a multi-line error (DuckDB's `LINE 1: …`) stays its item's. */
function warn(text: string): void {
	process.stderr.write(`${text.replace(/^/gm, tag)}\n`);
}

/** A stop before any work: the report says so, and nothing was written. */
function stoppedBeforeWork(task: WorkerTask, files: SourceFile[], save: Save): number {
	if (task.operation === 'ingestFiles') {
		const report = emptyReport(task.spec, files.length);
		report.files.notAttempted = files.length;
		save({ ...report, stopped: true });
	} else if (task.operation === 'insertRows') save({ ...emptyInsertReport(task.spec), stopped: true });
	else save({ statements: 0, statementsRun: 0, rowsChanged: 0, stopped: true });
	return EXIT.stopped;
}

/** Ingest Files lists its sources before the database is opened: a run with nothing to do (or a refusal) creates nothing. */
async function listFiles(
	task: WorkerTask & { operation: 'ingestFiles' },
	save: Save,
): Promise<SourceFile[] | undefined> {
	let files: SourceFile[] = [];
	let refusal: string | undefined;
	try {
		files = await listSources(task.spec.sources, task.access);
	} catch (error) {
		// DuckDB's glob refused a folder the pattern reaches (n8n's own, or outside the allowed folders).
		refusal = `cannot list ${task.spec.sources.join(', ')}: ${messageOf(error)}. The pattern reaches a folder that is not allowed (n8n's own files are never allowed); narrow it`;
	}
	refusal ??=
		refusedSource(files, task.access) ?? refuseBeforeOpening(task.spec, files, existsSync(task.spec.databasePath));
	if (!refusal) return files;
	warn(refusal);
	save({ ...emptyReport(task.spec, files.length), error: refusal });
	return undefined;
}

/**
 * Opens the database; a lock conflict (a reader that grabbed the file between the supervisor's check and this open)
 * is retried, with backoff, until the run's lock wait ends (WAIT_UNTIL_ENV) or a stop comes.
 */
async function open(task: WorkerTask, save: Save, stop: WorkerStop): Promise<OpenDatabase | undefined> {
	const until = Number(process.env[WAIT_UNTIL_ENV] ?? 0);
	for (let pauseMs = 50; ; pauseMs = Math.min(1000, pauseMs * 1.5)) {
		try {
			return await openConfined({
				databasePath: task.spec.databasePath,
				access: task.access,
				threads: task.spec.threads,
				memoryLimit: task.spec.memoryLimit,
			});
		} catch (error) {
			const message = `cannot open the database: ${messageOf(error)}`;
			if (parseLockConflict(message) && Date.now() + pauseMs < until && !stop.stopping) {
				await sleep(pauseMs);
				continue;
			}
			warn(message);
			// phase 'open': only this error may be DuckDB saying another process holds the database.
			save({ error: message, phase: 'open' });
			return undefined;
		}
	}
}

/** The session a task runs in: its own connection, so nothing of an earlier task (USE, variables, temp tables) remains. */
interface Session {
	connection: DuckDBConnection;
	/** The built-in table functions, asked once per instance (a session cannot add any: extensions never load). */
	builtins: () => Promise<Set<string>>;
}

async function work(
	task: WorkerTask,
	session: Session,
	files: SourceFile[],
	stop: WorkerStop,
	save: Save,
): Promise<number> {
	const control = stop.control(tag);
	try {
		const report =
			task.operation === 'ingestFiles'
				? await ingestFiles(session.connection, task.spec, control, files)
				: task.operation === 'insertRows'
					? await insertRows(session.connection, task.spec, control)
					: await runScript(session.connection, task.spec, control, await session.builtins());
		save(report);
		if (report.error) warn(report.error);
		if (report.stopped || (stop.stopping && !('committed' in report && report.committed))) return EXIT.stopped;
		const failed = 'files' in report ? report.files.failed > 0 || Boolean(report.error) : Boolean(report.error);
		return failed ? EXIT.failed : EXIT.ok;
	} catch (error) {
		// Our own step failed (the manifest, a catalog query): reported like a failed file, nothing half-written.
		const message = messageOf(error);
		warn(message);
		save({ error: message, stopped: stop.stopping || undefined });
		return stop.stopping ? EXIT.stopped : EXIT.failed;
	}
}

interface BatchState {
	database?: OpenDatabase;
	builtins?: Promise<Set<string>>;
	results: ResultsWriter;
}

/** A fresh session for a task: the opening connection for the first, a new one of the same instance for the others. */
async function sessionFor(database: OpenDatabase, first: boolean, state: BatchState): Promise<Session> {
	const connection = first ? database.connection : await database.instance.connect();
	return { connection, builtins: () => (state.builtins ??= builtinTableFunctions(connection)) };
}

/** One task on the batch's database, opened on first need (a task with nothing to do creates nothing). */
async function runTask(task: WorkerTask, index: number, state: BatchState, stop: WorkerStop): Promise<number> {
	const save: Save = (report) =>
		state.results.save(index, { ...report, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
	const files = task.operation === 'ingestFiles' ? await listFiles(task, save) : [];
	if (!files) return EXIT.failed;
	// No connection to interrupt yet: a stop that came meanwhile is only seen here.
	if (stop.stopping) return stoppedBeforeWork(task, files, save);
	const first = !state.database;
	if (!state.database) {
		state.database = await open(task, save, stop);
		if (!state.database) return UNOPENED;
		stop.attach(state.database.connection);
		// Stopped while DuckDB opened the database (a WAL replay can take a while): closed again before any work.
		if (stop.stopping) return stoppedBeforeWork(task, files, save);
	}
	const session = await sessionFor(state.database, first, state);
	stop.attach(session.connection);
	try {
		return await work(task, session, files, stop, save);
	} finally {
		if (!first) session.connection.closeSync();
	}
}

async function main(): Promise<number> {
	const batch = JSON.parse(readFileSync(process.argv[2], 'utf8')) as WorkerBatch;
	const stop = new WorkerStop();
	const state: BatchState = { results: new ResultsWriter(batch.resultsPath) };
	let code = EXIT.ok;
	try {
		for (const [index, task] of batch.tasks.entries()) {
			// A stop between tasks ends the batch before the next one lists or opens anything.
			if (stop.stopping) return EXIT.stopped;
			tag = batch.tasks.length > 1 ? `${itemTag(index + 1)} ` : '';
			state.results.started(index);
			// The supervisor starts its timeout over on this line: each item of a batch gets the whole timeout.
			if (tag) process.stdout.write(`${tag}${ITEM_STARTED}\n`);
			const result = await runTask(task, index, state, stop);
			// A stop ends the batch; so does a database that could not be opened (every later task would fail the same,
			// and a lock conflict makes the whole batch Blocked).
			if (result === UNOPENED) return EXIT.failed;
			if (result === EXIT.stopped) return result;
			if (result !== EXIT.ok) code = result;
		}
		return code;
	} finally {
		state.database?.close();
		state.results.close();
	}
}

main().then(
	(code) => process.stdout.write('', () => process.exit(code)),
	(error: unknown) => {
		process.stderr.write(`duckdb worker: ${messageOf(error)}\n`);
		process.exit(EXIT.failed);
	},
);
