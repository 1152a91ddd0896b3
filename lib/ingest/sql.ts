/**
 * Run SQL, inside the worker: the whole script in one transaction. DuckDB parses the script first (a syntax error
 * runs nothing); statements are then prepared and run one by one (a later one may use a table an earlier one made).
 * Any failure or a stop rolls everything back.
 */
import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import type { SqlReport } from './report';
import type { ResolvedSql } from './spec';
import type { WorkerControl } from './ingest';

function messageOf(error: unknown): string {
	return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}

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
			if (prepared.statementType === StatementType.TRANSACTION) {
				throw new Error('BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction. Remove them');
			}
			const last = index === extracted.count - 1;
			if (last && spec.returnRows && prepared.statementType === StatementType.SELECT) {
				const reader = await prepared.streamAndReadUntil(spec.rowLimit + 1);
				const rows = reader.getRowObjectsJS().slice(0, spec.rowLimit);
				report.rows = rows.map((row) => jsonSafe(row) as Record<string, unknown>);
				report.columns = reader.columnNames();
				report.rowsTruncated = reader.currentRowCount > spec.rowLimit;
			} else if (prepared.statementType === StatementType.SELECT) {
				// Rows nobody asked for are not materialised.
				await prepared.stream();
			} else {
				const result = await prepared.run();
				report.rowsChanged += Number(result.rowsChanged);
			}
			report.statementsRun++;
			control.progress(`statement ${index + 1}/${extracted.count} done`);
		}
		await connection.run('COMMIT');
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
