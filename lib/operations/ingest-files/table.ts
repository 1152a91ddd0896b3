/** The target table of Ingest Files: does it exist, with which columns and key, and creating it. */
import type { DuckDBConnection } from '@duckdb/node-api';
import { columnList, readerCall, type FileFormat } from './reader';
import { qualified, type Column, type ResolvedIngest } from '../spec';
import type { SourceFile } from './sources';
import { quoteIdentifier, quoteLiteral } from '../../duckdb/sql-text';

export interface TableShape {
	columns: Column[];
	hasKey: boolean;
}

export async function tableShape(connection: DuckDBConnection, spec: ResolvedIngest): Promise<TableShape | undefined> {
	const where = `schema_name = ${quoteLiteral(spec.tableName.schema)} AND table_name = ${quoteLiteral(spec.tableName.name)}`;
	const columns = await connection.runAndReadAll(
		`SELECT column_name, data_type FROM duckdb_columns() WHERE ${where} ORDER BY column_index`,
	);
	const rows = columns.getRowObjects();
	if (!rows.length) return undefined;
	const keys = await connection.runAndReadAll(
		`SELECT count(*) AS n FROM duckdb_constraints() WHERE ${where} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')`,
	);
	return {
		columns: rows.map((row) => ({ name: String(row.column_name), type: String(row.data_type) })),
		hasKey: Number(keys.getRowObjects()[0].n) > 0,
	};
}

export function needsKey(spec: ResolvedIngest): boolean {
	return spec.mode === 'insertOrIgnore' || spec.mode === 'upsert';
}

/** Why the write mode cannot work with this table (or the table we would create), before anything is written. */
export function keyProblem(spec: ResolvedIngest, shape: TableShape | undefined): string | undefined {
	if (!needsKey(spec)) return undefined;
	if (shape && !shape.hasKey)
		return `table ${spec.table} has no primary key, which ${spec.mode} needs to find existing rows. Add one (or a UNIQUE constraint), or use append.`;
	if (!shape && !spec.primaryKey.length)
		return `${spec.mode} needs a primary key: give the primary key columns so the new table ${spec.table} gets one.`;
	return undefined;
}

/** The table's columns when we create it: as given, else what DuckDB infers from the first file. */
export async function columnsForNewTable(
	connection: DuckDBConnection,
	spec: ResolvedIngest,
	file: SourceFile,
	format: FileFormat,
): Promise<Column[]> {
	if (spec.columns) return spec.columns;
	const reader = await connection.runAndReadAll(
		`DESCRIBE SELECT * FROM ${readerCall(file.path, format, { csvHeader: spec.csvHeader, csvDelimiter: spec.csvDelimiter })}`,
	);
	const columns = reader
		.getRowObjects()
		.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
	const missing = spec.primaryKey.filter((name) => !columns.some((column) => column.name === name));
	if (missing.length)
		throw new Error(
			`the primary key column ${missing.join(', ')} is not in ${file.path} (its columns: ${columns.map((column) => column.name).join(', ')})`,
		);
	return columns;
}

export async function createTable(
	connection: DuckDBConnection,
	spec: ResolvedIngest,
	columns: Column[],
): Promise<void> {
	if (spec.tableName.schema !== 'main')
		await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(spec.tableName.schema)}`);
	const key = spec.primaryKey.length ? `, PRIMARY KEY (${spec.primaryKey.map(quoteIdentifier).join(', ')})` : '';
	await connection.run(`CREATE TABLE ${qualified(spec.tableName)} (${columnList(columns)}${key})`);
}
