/**
 * Ingest Files, inside the worker: skip the files the manifest has unchanged, and load each other one in its own
 * transaction together with its manifest entry (Replace: one transaction for the whole reload). A failure or a stop
 * rolls back the file in progress only; the files before it stay committed. A stop never interrupts a COMMIT.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ensureManifest, forgetTable, isUnchanged, readManifest, recordFile, type ManifestEntry } from './manifest';
import { formatOf, insertColumns, readerCall } from './reader';
import { FILE_LIST_LIMIT, type FileResult, type IngestReport } from '../../outcome/operation-reports';
import { qualified, type ResolvedIngest } from '../spec';
import { csvHeaderFor, type SourceFile } from './sources';
import { columnsForNewTable, createTable, keyProblem, tableShape, type TableShape } from './table';
import { formatDuration } from '../../base/duration';
import { messageOf } from '../../base/errors';

export interface WorkerControl {
	stopping(): boolean;
	progress(line: string): void;
	/** Runs a COMMIT that a stop must not interrupt (the stop is acted on after it). */
	committing<T>(commit: () => Promise<T>): Promise<T>;
}

const VERB = {
	append: 'INSERT INTO',
	replace: 'INSERT INTO',
	insertOrIgnore: 'INSERT OR IGNORE INTO',
	upsert: 'INSERT OR REPLACE INTO',
} as const;

class Stopped extends Error {}

export function emptyReport(spec: ResolvedIngest, matched: number): IngestReport {
	return {
		table: spec.table,
		mode: spec.mode,
		tableCreated: false,
		files: { matched, ingested: 0, skipped: 0, failed: 0, notAttempted: 0 },
		rows: 0,
		bytes: 0,
		perFile: [],
		perFileTruncated: false,
	};
}

/** What can be refused before the database is even opened (so that nothing is created). */
export function refuseBeforeOpening(
	spec: ResolvedIngest,
	files: SourceFile[],
	databaseExists: boolean,
): string | undefined {
	if (!files.length)
		return `no files match ${spec.sources.join(', ')}. Check the path and the pattern (and that the files were downloaded).`;
	const unknown = files.find((file) => !formatOf(file.path, spec.format));
	if (unknown)
		return `cannot tell the format of ${unknown.path} from its name. Set the format (csv, parquet, json or ndjson).`;
	return databaseExists ? undefined : keyProblem(spec, undefined);
}

class Run {
	readonly report: IngestReport;
	private shape: TableShape | undefined;
	private manifest = new Map<string, ManifestEntry>();
	private readonly whole: boolean;
	private rolledBack = false;

	constructor(
		private readonly connection: DuckDBConnection,
		private readonly spec: ResolvedIngest,
		private readonly control: WorkerControl,
		private readonly files: SourceFile[],
	) {
		this.report = emptyReport(spec, files.length);
		this.whole = spec.mode === 'replace';
	}

	private add(result: FileResult): void {
		const report = this.report;
		if (result.status === 'ingested') {
			report.files.ingested++;
			report.rows += result.rows ?? 0;
			report.bytes += result.bytes;
		} else if (result.status === 'skipped') report.files.skipped++;
		else report.files.failed++;
		if (report.perFile.length < FILE_LIST_LIMIT || result.status === 'failed') report.perFile.push(result);
		else report.perFileTruncated = true;
	}

	private checkpoint(): void {
		if (this.control.stopping()) throw new Stopped('stopped');
	}

	/** Loads one file inside the open transaction; returns its row count. */
	private async load(file: SourceFile): Promise<number> {
		const format = formatOf(file.path, this.spec.format)!;
		if (!this.shape) {
			this.checkpoint();
			const columns = await columnsForNewTable(this.connection, this.spec, file, format);
			await forgetTable(this.connection, this.spec.tableName);
			await createTable(this.connection, this.spec, columns);
			this.shape = { columns, hasKey: this.spec.primaryKey.length > 0 };
			this.report.tableCreated = true;
		}
		const columns = format === 'csv' ? this.shape.columns : undefined;
		const csvHeader = format === 'csv' ? csvHeaderFor(file.path, columns, this.spec.csvHeader) : this.spec.csvHeader;
		const source = readerCall(file.path, format, { csvHeader, csvDelimiter: this.spec.csvDelimiter, columns });
		this.checkpoint();
		const result = await this.connection.run(
			`${VERB[this.spec.mode]} ${qualified(this.spec.tableName)} ${insertColumns(format)} SELECT * FROM ${source}`,
		);
		const rows = Number(result.rowsChanged);
		await recordFile(this.connection, this.spec.tableName, file, rows);
		return rows;
	}

	async start(): Promise<boolean> {
		this.shape = await tableShape(this.connection, this.spec);
		const problem = keyProblem(this.spec, this.shape);
		if (problem) {
			this.report.error = problem;
			return false;
		}
		await ensureManifest(this.connection);
		if (this.shape && !this.whole) this.manifest = await readManifest(this.connection, this.spec.tableName);
		if (this.whole) {
			await this.connection.run('BEGIN TRANSACTION');
			if (this.shape) await this.connection.run(`DELETE FROM ${qualified(this.spec.tableName)}`);
			await forgetTable(this.connection, this.spec.tableName);
		}
		return true;
	}

	/** Every file in order; false when the run ended early (failure or stop). */
	async each(): Promise<boolean> {
		const { files, report, control, spec } = this;
		for (let index = 0; index < files.length; index++) {
			const file = files[index];
			const position = `[${index + 1}/${files.length}]`;
			if (control.stopping()) {
				report.stopped = true;
				report.files.notAttempted = files.length - index;
				return false;
			}
			const entry = this.manifest.get(file.key);
			if (isUnchanged(entry, file)) {
				this.add({
					path: file.path,
					status: 'skipped',
					bytes: file.size,
					detail: `unchanged since ingested at ${entry!.ingestedAt}`,
				});
				control.progress(`${position} skipped ${file.path} (unchanged since ${entry!.ingestedAt})`);
				continue;
			}
			if (entry && spec.mode === 'append') {
				const detail = `changed since it was ingested at ${entry.ingestedAt} (${entry.size} → ${file.size} bytes); appending it again would duplicate its rows. Use upsert, insert-or-ignore or replace, or move the file away`;
				this.add({ path: file.path, status: 'failed', bytes: file.size, detail });
				control.progress(`${position} failed ${file.path}: ${detail}`);
				report.files.notAttempted = files.length - index - 1;
				return false;
			}
			const started = Date.now();
			const createdBefore = report.tableCreated;
			try {
				if (!this.whole) await this.connection.run('BEGIN TRANSACTION');
				const rows = await this.load(file);
				if (!this.whole) await control.committing(() => this.connection.run('COMMIT'));
				const ms = Date.now() - started;
				this.add({ path: file.path, status: 'ingested', bytes: file.size, rows, ms });
				control.progress(
					`${position} ingested ${file.path}: ${rows.toLocaleString('en-US')} rows in ${formatDuration(ms)}`,
				);
			} catch (error) {
				await this.connection.run('ROLLBACK').catch(() => undefined);
				if (!this.whole && report.tableCreated && !createdBefore) {
					// The table was created in this file's transaction: rolled back with it.
					report.tableCreated = false;
					this.shape = undefined;
				}
				if (control.stopping() || error instanceof Stopped) {
					report.stopped = true;
					report.files.notAttempted = files.length - index;
					control.progress(`${position} stopped while ingesting ${file.path}: rolled back`);
				} else {
					const detail = messageOf(error);
					this.add({ path: file.path, status: 'failed', bytes: file.size, detail });
					control.progress(`${position} failed ${file.path}: ${detail}`);
					report.files.notAttempted = files.length - index - 1;
				}
				if (this.whole) this.undoWhole();
				return false;
			}
		}
		return true;
	}

	async finish(complete: boolean): Promise<void> {
		if (this.whole && !this.rolledBack) {
			try {
				if (!complete) throw new Stopped('incomplete');
				await this.control.committing(() => this.connection.run('COMMIT'));
			} catch (error) {
				if (!(error instanceof Stopped)) this.report.error = `the reload could not be committed: ${messageOf(error)}`;
				await this.connection.run('ROLLBACK').catch(() => undefined);
				this.undoWhole();
			}
		}
		const shape = this.rolledBack ? await tableShape(this.connection, this.spec) : this.shape;
		if (shape) {
			const count = await this.connection.runAndReadAll(`SELECT count(*) AS n FROM ${qualified(this.spec.tableName)}`);
			this.report.tableRows = Number(count.getRowObjects()[0].n);
		}
	}

	/** Replace rolled back: nothing of this run is in the table, which is as it was before. */
	private undoWhole(): void {
		const report = this.report;
		report.rows = 0;
		report.bytes = 0;
		report.files.ingested = 0;
		report.tableCreated = false;
		report.perFile = report.perFile.filter((file) => file.status === 'failed');
		const why = report.error ? ` (${report.error})` : '';
		report.error = `replace was rolled back: ${this.spec.table} is unchanged${why}`;
		this.rolledBack = true;
	}
}

export async function ingestFiles(
	connection: DuckDBConnection,
	spec: ResolvedIngest,
	control: WorkerControl,
	files: SourceFile[],
): Promise<IngestReport> {
	const run = new Run(connection, spec, control, files);
	if (!(await run.start())) return run.report;
	const complete = await run.each();
	await run.finish(complete);
	return run.report;
}
