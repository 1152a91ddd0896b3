/**
 * Ingest Files, inside the worker: list the files, skip those the manifest has unchanged, and load each one in its
 * own transaction together with its manifest entry (Replace: one transaction for the whole reload). A failure or a
 * stop rolls back the file in progress only; the files before it stay committed.
 */
import { statSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ensureManifest, forgetTable, isUnchanged, readManifest, recordFile, type SourceFile } from './manifest';
import { columnList, formatOf, insertColumns, readerCall, type FileFormat } from './reader';
import { FILE_LIST_LIMIT, type FileResult, type IngestReport } from './report';
import { qualified, quoteIdentifier, quoteLiteral, type Column, type ResolvedIngest } from './spec';
import { formatDuration } from '../duration';

export interface WorkerControl {
	stopping(): boolean;
	progress(line: string): void;
}

async function listFiles(connection: DuckDBConnection, sources: string[]): Promise<SourceFile[]> {
	const paths = new Set<string>();
	for (const source of sources) {
		// DuckDB's own glob (*, **, ?, [..]) runs inside the sandbox, so it cannot list folders outside it.
		const reader = await connection.runAndReadAll(`SELECT file FROM glob(${quoteLiteral(source)})`);
		for (const row of reader.getRowObjects()) paths.add(String(row.file));
	}
	const files: SourceFile[] = [];
	for (const path of [...paths].sort()) {
		const stat = statSync(path, { throwIfNoEntry: false });
		if (stat?.isFile()) files.push({ path, size: stat.size, modifiedMs: stat.mtimeMs });
	}
	return files;
}

interface TableShape {
	columns: Column[];
	hasKey: boolean;
}

async function tableShape(connection: DuckDBConnection, spec: ResolvedIngest): Promise<TableShape | undefined> {
	const where = `schema_name = ${quoteLiteral(spec.tableName.schema)} AND table_name = ${quoteLiteral(spec.tableName.name)}`;
	const columns = await connection.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE ${where} ORDER BY column_index`);
	const rows = columns.getRowObjects();
	if (!rows.length) return undefined;
	const keys = await connection.runAndReadAll(`SELECT count(*) AS n FROM duckdb_constraints() WHERE ${where} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')`);
	return {
		columns: rows.map((row) => ({ name: String(row.column_name), type: String(row.data_type) })),
		hasKey: Number(keys.getRowObjects()[0].n) > 0,
	};
}

/** The table's columns when we create it: as given, else what DuckDB infers from the first file. */
async function columnsForNewTable(connection: DuckDBConnection, spec: ResolvedIngest, file: SourceFile, format: FileFormat): Promise<Column[]> {
	if (spec.columns) return spec.columns;
	const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${readerCall(file.path, format, { csvHeader: spec.csvHeader, csvDelimiter: spec.csvDelimiter })}`);
	return reader.getRowObjects().map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
}

async function createTable(connection: DuckDBConnection, spec: ResolvedIngest, columns: Column[]): Promise<void> {
	if (spec.tableName.schema !== 'main') await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(spec.tableName.schema)}`);
	const key = spec.primaryKey.length ? `, PRIMARY KEY (${spec.primaryKey.map(quoteIdentifier).join(', ')})` : '';
	await connection.run(`CREATE TABLE ${qualified(spec.tableName)} (${columnList(columns)}${key})`);
}

const VERB = { append: 'INSERT INTO', replace: 'INSERT INTO', insertOrIgnore: 'INSERT OR IGNORE INTO', upsert: 'INSERT OR REPLACE INTO' } as const;

function messageOf(error: unknown): string {
	return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}

class Tally {
	readonly report: IngestReport;
	constructor(spec: ResolvedIngest, matched: number) {
		this.report = {
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

	add(result: FileResult): void {
		const files = this.report.files;
		if (result.status === 'ingested') {
			files.ingested++;
			this.report.rows += result.rows ?? 0;
			this.report.bytes += result.bytes;
		} else if (result.status === 'skipped') files.skipped++;
		else files.failed++;
		if (this.report.perFile.length < FILE_LIST_LIMIT || result.status === 'failed') this.report.perFile.push(result);
		else this.report.perFileTruncated = true;
	}
}

export async function ingestFiles(connection: DuckDBConnection, spec: ResolvedIngest, control: WorkerControl): Promise<IngestReport> {
	const files = await listFiles(connection, spec.sources);
	const tally = new Tally(spec, files.length);
	const report = tally.report;
	if (!files.length) {
		report.error = `no files match ${spec.sources.join(', ')}. Check the path and the pattern (and that the files were downloaded).`;
		return report;
	}
	const unknown = files.find((file) => !formatOf(file.path, spec.format));
	if (unknown) {
		report.error = `cannot tell the format of ${unknown.path} from its name. Set the format (csv, parquet, json or ndjson).`;
		return report;
	}
	await ensureManifest(connection);
	let shape = await tableShape(connection, spec);
	if ((spec.mode === 'insertOrIgnore' || spec.mode === 'upsert') && !(shape ? shape.hasKey : spec.primaryKey.length)) {
		report.error = shape
			? `table ${spec.table} has no primary key, which ${spec.mode} needs to find existing rows. Add one (or a UNIQUE constraint), or use append.`
			: `${spec.mode} needs a primary key: give the primary key columns so the new table ${spec.table} gets one.`;
		return report;
	}
	const manifest = spec.mode === 'replace' ? new Map() : await readManifest(connection, spec.tableName);
	const whole = spec.mode === 'replace';
	let wholeOpen = whole;
	if (whole) await connection.run('BEGIN TRANSACTION');
	if (whole && shape) {
		await connection.run(`DELETE FROM ${qualified(spec.tableName)}`);
		await forgetTable(connection, spec.tableName);
	}

	for (let index = 0; index < files.length; index++) {
		const file = files[index];
		const position = `[${index + 1}/${files.length}]`;
		if (control.stopping()) {
			report.stopped = true;
			report.files.notAttempted = files.length - index;
			break;
		}
		const entry = manifest.get(file.path);
		if (isUnchanged(entry, file)) {
			tally.add({ path: file.path, status: 'skipped', bytes: file.size, detail: `unchanged since ingested at ${entry!.ingestedAt}` });
			control.progress(`${position} skipped ${file.path} (unchanged since ${entry!.ingestedAt})`);
			continue;
		}
		if (entry && spec.mode === 'append') {
			const detail = `changed since it was ingested at ${entry.ingestedAt} (${entry.size} → ${file.size} bytes); appending it again would duplicate its rows. Use upsert, insert-or-ignore or replace, or move the file away`;
			tally.add({ path: file.path, status: 'failed', bytes: file.size, detail });
			control.progress(`${position} failed ${file.path}: ${detail}`);
			report.files.notAttempted = files.length - index - 1;
			break;
		}
		const format = formatOf(file.path, spec.format)!;
		const started = Date.now();
		try {
			if (!whole) await connection.run('BEGIN TRANSACTION');
			if (!shape) {
				const columns = await columnsForNewTable(connection, spec, file, format);
				await createTable(connection, spec, columns);
				shape = { columns, hasKey: spec.primaryKey.length > 0 };
				report.tableCreated = true;
			}
			const source = readerCall(file.path, format, { csvHeader: spec.csvHeader, csvDelimiter: spec.csvDelimiter, columns: format === 'csv' ? shape.columns : undefined });
			const result = await connection.run(`${VERB[spec.mode]} ${qualified(spec.tableName)} ${insertColumns(format)} SELECT * FROM ${source}`);
			const rows = Number(result.rowsChanged);
			await recordFile(connection, spec.tableName, file, rows);
			if (!whole) await connection.run('COMMIT');
			const ms = Date.now() - started;
			tally.add({ path: file.path, status: 'ingested', bytes: file.size, rows, ms });
			control.progress(`${position} ingested ${file.path}: ${rows.toLocaleString('en-US')} rows in ${formatDuration(ms)}`);
		} catch (error) {
			await connection.run('ROLLBACK').catch(() => undefined);
			wholeOpen = false;
			if (control.stopping()) {
				report.stopped = true;
				report.files.notAttempted = files.length - index;
				control.progress(`${position} stopped while ingesting ${file.path}: rolled back`);
			} else {
				const detail = messageOf(error);
				tally.add({ path: file.path, status: 'failed', bytes: file.size, detail });
				control.progress(`${position} failed ${file.path}: ${detail}`);
				report.files.notAttempted = files.length - index - 1;
			}
			if (whole) undoWhole(report, spec.table);
			if (!whole && report.tableCreated && report.files.ingested === 0) {
				// The table was created in this file's transaction: rolled back with it.
				report.tableCreated = false;
				shape = undefined;
			}
			break;
		}
	}
	const undone = whole && (report.stopped || report.files.failed > 0);
	if (wholeOpen && !undone) await connection.run('COMMIT');
	if (wholeOpen && undone) {
		await connection.run('ROLLBACK');
		undoWhole(report, spec.table);
	}
	if (shape && !undone) {
		const count = await connection.runAndReadAll(`SELECT count(*) AS n FROM ${qualified(spec.tableName)}`);
		report.tableRows = Number(count.getRowObjects()[0].n);
	}
	return report;
}

/** Replace rolled back: nothing of this run is in the table, which is as it was before. */
function undoWhole(report: IngestReport, table: string): void {
	report.rows = 0;
	report.bytes = 0;
	report.files.ingested = 0;
	report.tableCreated = false;
	report.perFile = report.perFile.filter((file) => file.status === 'failed');
	report.error = `replace was rolled back: ${table} is unchanged`;
}
