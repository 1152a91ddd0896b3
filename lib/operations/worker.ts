/**
 * The job process of the built-in operations: `node worker.js TASK.json`. It runs like any job under the supervisor
 * (own process group, lock, timeout, cancellation) and keeps DuckDB's native code and memory out of the supervising
 * process. Progress goes to stdout, one line per file or statement; the report is written to the task's result file.
 *
 * On SIGTERM (timeout, Stop, cleanup) it interrupts the running query, rolls back the open transaction, closes the
 * database and exits 143. If that takes longer than the grace period, the supervisor's SIGKILL follows; DuckDB then
 * replays its WAL on the next open, so only committed files count either way. A SIGTERM that comes before the
 * database is opened (while the sources are listed) exits 143 without opening it; one that comes while DuckDB opens
 * it (which cannot be interrupted) closes it again before any work (no manifest, no table, no statement).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { messageOf } from '../base/errors';
import { emptyReport, ingestFiles, refuseBeforeOpening, type WorkerControl } from './ingest-files/load';
import { listSources, refusedSource, type SourceFile } from './ingest-files/sources';
import { openConfined, type OpenDatabase } from '../duckdb/sandbox';
import { runScript } from './run-sql/script';
import type { WorkerTask } from './spec';

const EXIT = { ok: 0, failed: 1, stopped: 143 };


async function main(): Promise<number> {
	const task = JSON.parse(readFileSync(process.argv[2], 'utf8')) as WorkerTask;
	let database: OpenDatabase | undefined;
	let stopping = false;
	let inCommit = false;
	const onStop = (signal: NodeJS.Signals): void => {
		if (stopping) return;
		stopping = true;
		const action = inCommit ? 'stopping after the commit in progress' : database ? 'interrupting the query and rolling back' : 'stopping before any work on the database';
		process.stdout.write(`received ${signal}: ${action}\n`);
		if (!inCommit) database?.connection.interrupt();
	};
	for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onStop);
	const control: WorkerControl = {
		stopping: () => stopping,
		progress: (line) => process.stdout.write(`${line}\n`),
		async committing(commit) {
			inCommit = true;
			try {
				return await commit();
			} finally {
				inCommit = false;
			}
		},
	};
	const save = (report: object): void => writeFileSync(task.resultPath, JSON.stringify({ ...report, peakRssBytes: process.resourceUsage().maxRSS * 1024 }));

	/** A stop before any work: the report says so, and nothing was written. */
	const stoppedBeforeWork = (): number => {
		if (task.operation === 'ingestFiles') {
			const report = emptyReport(task.spec, files.length);
			report.files.notAttempted = files.length;
			save({ ...report, stopped: true });
		} else save({ statements: 0, statementsRun: 0, rowsChanged: 0, stopped: true });
		return EXIT.stopped;
	};

	let files: SourceFile[] = [];
	if (task.operation === 'ingestFiles') {
		// Listed before the database is opened: a run with nothing to do (or a refusal) creates nothing.
		let refusal: string | undefined;
		try {
			files = await listSources(task.spec.sources, task.access);
		} catch (error) {
			// DuckDB's glob refused a folder the pattern reaches (n8n's own, or outside the allowed folders).
			refusal = `cannot list ${task.spec.sources.join(', ')}: ${messageOf(error)}. The pattern reaches a folder that is not allowed (n8n's own files are never allowed); narrow it`;
		}
		refusal ??= refusedSource(files, task.access) ?? refuseBeforeOpening(task.spec, files, existsSync(task.spec.databasePath));
		if (refusal) {
			process.stderr.write(`${refusal}\n`);
			save({ ...emptyReport(task.spec, files.length), error: refusal });
			return EXIT.failed;
		}
	}
	// No connection to interrupt yet: a stop that came meanwhile is only seen here.
	if (stopping) return stoppedBeforeWork();
	try {
		database = await openConfined({ databasePath: task.spec.databasePath, access: task.access, threads: task.spec.threads, memoryLimit: task.spec.memoryLimit });
	} catch (error) {
		const message = `cannot open the database: ${messageOf(error)}`;
		process.stderr.write(`${message}\n`);
		// phase 'open': only this error may be DuckDB saying another process holds the database.
		save({ error: message, phase: 'open' });
		return EXIT.failed;
	}
	if (stopping) {
		// Stopped while DuckDB opened the database (a WAL replay can take a while): close it before any work.
		database.close();
		return stoppedBeforeWork();
	}
	try {
		const report = task.operation === 'ingestFiles' ? await ingestFiles(database.connection, task.spec, control, files) : await runScript(database.connection, task.spec, control);
		save(report);
		if (report.error) process.stderr.write(`${report.error}\n`);
		if (report.stopped || (stopping && !('committed' in report && report.committed))) return EXIT.stopped;
		const failed = 'files' in report ? report.files.failed > 0 || Boolean(report.error) : Boolean(report.error);
		return failed ? EXIT.failed : EXIT.ok;
	} catch (error) {
		// Our own step failed (the manifest, a catalog query): reported like a failed file, nothing half-written.
		const message = messageOf(error);
		process.stderr.write(`${message}\n`);
		save({ error: message, stopped: stopping || undefined });
		return stopping ? EXIT.stopped : EXIT.failed;
	} finally {
		database.close();
	}
}

main().then(
	(code) => process.stdout.write('', () => process.exit(code)),
	(error: unknown) => {
		process.stderr.write(`duckdb worker: ${messageOf(error)}\n`);
		process.exit(EXIT.failed);
	},
);
