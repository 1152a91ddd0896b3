/** What Insert Rows is asked to do, and its checks before anything runs (a UsageError says what to fix). */
import { UsageError } from '../../base/errors';
import { WRITE_MODES, type WriteMode } from '../../outcome/operation-reports';
import {
	checkColumns,
	checkSettings,
	checkIdentifier,
	parseTableName,
	type Column,
	type DatabaseSettings,
	type QualifiedName,
} from '../spec';
import type { RowFile } from './row-file';

export const MISSING_COLUMNS = ['ignore', 'add', 'fail'] as const;
export type MissingColumns = (typeof MISSING_COLUMNS)[number];
export const NESTED_VALUES = ['json', 'refuse'] as const;
export type NestedValues = (typeof NESTED_VALUES)[number];

export interface InsertSpec extends DatabaseSettings {
	/** The rows, written by the supervisor (RowFileWriter). */
	rows: RowFile;
	table: string;
	mode?: WriteMode;
	/** Fields the table has no column for: ignore them (default), add the column, or fail the run. */
	missingColumns?: MissingColumns;
	/** Objects and arrays: into JSON columns (default), or refused. */
	nested?: NestedValues;
	/** The columns of a table we create (default: inferred from the items). */
	columns?: Column[];
	/** The primary key of a table we create; insertOrIgnore and upsert need one. */
	primaryKey?: string[];
	/** Rows per transaction, each committed on its own; 0 or absent: all rows in one transaction. */
	batchSize?: number;
	/** Report which items were ignored and updated (for one output item per input). */
	itemFates?: boolean;
}

export type ResolvedInsert = Required<
	Pick<
		InsertSpec,
		'databasePath' | 'rows' | 'table' | 'mode' | 'missingColumns' | 'nested' | 'primaryKey' | 'batchSize' | 'itemFates'
	>
> &
	Pick<InsertSpec, 'columns' | 'threads' | 'memoryLimit'> & { tableName: QualifiedName };

function oneOf<T extends string>(value: T | undefined, allowed: readonly T[], fallback: T, what: string): T {
	const chosen = value ?? fallback;
	if (!allowed.includes(chosen))
		throw new UsageError(`${what} "${chosen}" is unknown. Use one of: ${allowed.join(', ')}.`);
	return chosen;
}

export function resolveInsertSpec(spec: InsertSpec): ResolvedInsert {
	checkSettings(spec);
	const batchSize = spec.batchSize ?? 0;
	if (!Number.isInteger(batchSize) || batchSize < 0)
		throw new UsageError(`The batch size must be a whole number, 0 for one transaction (got ${batchSize}).`);
	const columns = spec.columns?.length ? checkColumns(spec.columns) : undefined;
	const primaryKey = (spec.primaryKey ?? []).map((name) => checkIdentifier(name, 'Primary key column'));
	const known = columns?.map((column) => column.name) ?? spec.rows.shape.fields.map((field) => field.name);
	const unknown = primaryKey.find((name) => !known.includes(name));
	if (unknown && (columns || spec.rows.shape.rows > 0))
		throw new UsageError(
			`The primary key column ${unknown} is ${columns ? 'not among the columns given' : 'in none of the items'}. Give a column the items have.`,
		);
	return {
		databasePath: spec.databasePath,
		rows: spec.rows,
		table: spec.table,
		tableName: parseTableName(spec.table),
		mode: oneOf(spec.mode, WRITE_MODES, 'append', 'Write mode'),
		missingColumns: oneOf(spec.missingColumns, MISSING_COLUMNS, 'ignore', 'Missing columns'),
		nested: oneOf(spec.nested, NESTED_VALUES, 'json', 'Nested values'),
		columns,
		primaryKey,
		batchSize,
		itemFates: spec.itemFates ?? false,
		threads: spec.threads,
		memoryLimit: spec.memoryLimit?.trim(),
	};
}
