/**
 * Run SQL, inside the worker: the whole script in one transaction. DuckDB parses the script first (a syntax error
 * runs nothing); statements are then prepared and run one by one (a later one may use a table an earlier one made).
 * Any failure or a stop rolls everything back.
 *
 * Statements that write files are refused: DuckDB exempts the open database and its WAL from allowed_directories,
 * so `COPY (…) TO '<database>' (USE_TMP_FILE false)` would overwrite them (seen with DuckDB 1.5), and ATTACH could
 * create a database file named like the WAL. Reading files (read_csv, read_parquet, …) stays allowed in the allowed
 * folders.
 */
import { ResultReturnType, StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import type { SqlReport } from './report';
import type { ResolvedSql } from './spec';
import type { WorkerControl } from './ingest';
import { messageOf } from '../errors';


/** Rows as n8n items can carry them: BIGINT as a number when exact, else a string; dates as ISO text; bytes as base64. */
export function jsonSafe(value: unknown): unknown {
	if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
	if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
	if (Array.isArray(value)) return value.map(jsonSafe);
	if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
	if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, jsonSafe(entry)]));
	return value;
}

const WRITES_FILES = new Map<StatementType, string>([
	[StatementType.COPY, 'COPY'],
	[StatementType.EXPORT, 'EXPORT DATABASE'],
	[StatementType.COPY_DATABASE, 'COPY FROM DATABASE'],
	[StatementType.ATTACH, 'ATTACH'],
	[StatementType.DETACH, 'DETACH'],
]);

function refuse(prepared: DuckDBPreparedStatement): void {
	if (prepared.statementType === StatementType.TRANSACTION) {
		throw new Error('BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction. Remove them');
	}
	const writer = WRITES_FILES.get(prepared.statementType);
	if (writer) {
		throw new Error(`${writer} is not allowed in Run SQL: it can write over the open database and its WAL. Read files with read_csv()/read_parquet()/read_json() inside INSERT or CREATE TABLE AS instead`);
	}
}

/** Runs a statement whose rows nobody asked for, reading them to the end (so an error in a late chunk still fails). */
async function drain(prepared: DuckDBPreparedStatement): Promise<number> {
	const result = await prepared.stream();
	if (result.returnType === ResultReturnType.CHANGED_ROWS) return Number(result.rowsChanged);
	for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
		// Rows are discarded; only errors matter.
	}
	return 0;
}

export async function runScript(connection: DuckDBConnection, spec: ResolvedSql, control: WorkerControl): Promise<SqlReport> {
	const report: SqlReport = { statements: 0, statementsRun: 0, rowsChanged: 0 };
	let extracted;
	try {
		extracted = await connection.extractStatements(spec.sql);
	} catch (error) {
		report.error = `the SQL does not parse: ${messageOf(error).replace(/^Failed to extract statements: /, '')}`;
		return report;
	}
	report.statements = extracted.count;
	await connection.run('BEGIN TRANSACTION');
	try {
		for (let index = 0; index < extracted.count; index++) {
			if (control.stopping()) throw new Error('stopped');
			const prepared = await extracted.prepare(index);
			refuse(prepared);
			if (control.stopping()) throw new Error('stopped');
			const last = index === extracted.count - 1;
			if (last && spec.returnRows) {
				const reader = await prepared.streamAndReadUntil(spec.rowLimit + 1);
				if (reader.returnType === ResultReturnType.QUERY_RESULT) {
					report.rows = reader.getRowObjectsJS().slice(0, spec.rowLimit).map((row) => jsonSafe(row) as Record<string, unknown>);
					report.columns = reader.columnNames();
					report.rowsTruncated = reader.currentRowCount > spec.rowLimit;
				} else report.rowsChanged += Number(reader.rowsChanged);
			} else {
				report.rowsChanged += await drain(prepared);
			}
			report.statementsRun++;
			control.progress(`statement ${index + 1}/${extracted.count} done`);
		}
		// A stop now must not interrupt the COMMIT: it would throw while the data is committed all the same.
		await control.committing(() => connection.run('COMMIT'));
		report.committed = true;
	} catch (error) {
		await connection.run('ROLLBACK').catch(() => undefined);
		if (control.stopping()) report.stopped = true;
		else {
			report.failedStatement = report.statementsRun + 1;
			report.error = messageOf(error);
		}
		report.rowsChanged = 0;
		delete report.rows;
		delete report.columns;
	}
	return report;
}
