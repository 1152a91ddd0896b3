/**
 * Which column each field goes to, decided before any row is written: the table's columns and key as they are (its
 * types win), or the table we create (the columns given, else inferred from the items), fields the table lacks
 * ignored, added or refused, nested values refused when asked. Pure, apart from reading the table.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from '../../duckdb/sql-text';
import type { Column } from '../spec';
import type { ResolvedInsert } from './spec';
import { typeFor, type RowShape } from './shape';

export interface ExistingTable {
	columns: Column[];
	/** The primary key (or else the first UNIQUE constraint); empty when it has none. */
	key: string[];
}

export async function readTable(
	connection: DuckDBConnection,
	spec: ResolvedInsert,
): Promise<ExistingTable | undefined> {
	const where = `schema_name = ${quoteLiteral(spec.tableName.schema)} AND table_name = ${quoteLiteral(spec.tableName.name)}`;
	const columns = (
		await connection.runAndReadAll(
			`SELECT column_name, data_type FROM duckdb_columns() WHERE ${where} ORDER BY column_index`,
		)
	).getRowObjectsJson();
	if (!columns.length) return undefined;
	const keys = (
		await connection.runAndReadAll(
			`SELECT constraint_column_names AS names FROM duckdb_constraints() WHERE ${where} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') ORDER BY constraint_type = 'UNIQUE', constraint_index`,
		)
	).getRowObjectsJson();
	return {
		columns: columns.map((row) => ({ name: String(row.column_name), type: String(row.data_type) })),
		key: ((keys[0]?.names as string[] | undefined) ?? []).map(String),
	};
}

export interface InsertPlan {
	/** The table's columns in order (the appender fills every one), each with the field it takes, if any. */
	columns: Array<Column & { field?: string }>;
	key: string[];
	/** The table does not exist: create it with these columns and the key. */
	create: boolean;
	/** Columns to add to an existing table. */
	add: Column[];
	/** Fields left out (no column, missingColumns: ignore). */
	ignoredFields: string[];
}

/** The plan, or why the run cannot start (nothing is written). */
export function planInsert(
	spec: ResolvedInsert,
	shape: RowShape,
	table: ExistingTable | undefined,
): InsertPlan | string {
	const refused = spec.nested === 'refuse' && shape.fields.find((field) => field.firstNested !== undefined);
	if (refused)
		return `item ${refused.firstNested}, field ${refused.name}: an object or array, and nested values are set to be refused. Allow them into JSON columns, or flatten the items first`;
	if (!table) return planNew(spec, shape);
	const key = table.key;
	if ((spec.mode === 'insertOrIgnore' || spec.mode === 'upsert') && !key.length)
		return `table ${spec.table} has no primary key, which ${spec.mode} needs to find existing rows. Add one (or a UNIQUE constraint), or use append.`;
	if (spec.primaryKey.length && spec.primaryKey.join(',').toLowerCase() !== key.join(',').toLowerCase())
		return `the primary key given (${spec.primaryKey.join(', ')}) is not the key of table ${spec.table} (${key.join(', ') || 'none'}). Leave it empty to use the table's.`;
	const byName = new Map(table.columns.map((column) => [column.name.toLowerCase(), column]));
	const columns: InsertPlan['columns'] = table.columns.map((column) => ({ ...column }));
	const add: Column[] = [];
	const ignoredFields: string[] = [];
	for (const field of shape.fields) {
		const column = byName.get(field.name.toLowerCase());
		const taken = column && columns.find((entry) => entry.name === column.name)?.field;
		if (taken) {
			// DuckDB's names ignore case: Binance's m and M cannot both be columns. The first field keeps it.
			if (spec.missingColumns !== 'ignore') return caseClash(spec, taken, field.name);
			ignoredFields.push(field.name);
			continue;
		}
		if (column) {
			columns[table.columns.indexOf(column)].field = field.name;
			continue;
		}
		if (spec.missingColumns === 'fail')
			return `field ${field.name} has no column in table ${spec.table}. Add the column, map the fields, or set missing columns to ignore or add`;
		if (spec.missingColumns === 'ignore') ignoredFields.push(field.name);
		else {
			const added = { name: field.name, type: typeFor(field.kinds) };
			add.push(added);
			byName.set(field.name.toLowerCase(), added);
			columns.push({ ...added, field: field.name });
		}
	}
	const unkeyed = key.find(
		(name) => !columns.some((column) => column.field && column.name.toLowerCase() === name.toLowerCase()),
	);
	if (unkeyed && spec.mode !== 'append' && spec.mode !== 'replace')
		return `no item has the key column ${unkeyed} of table ${spec.table}, which ${spec.mode} matches rows by`;
	return { columns, key, create: false, add, ignoredFields };
}

function planNew(spec: ResolvedInsert, shape: RowShape): InsertPlan | string {
	if ((spec.mode === 'insertOrIgnore' || spec.mode === 'upsert') && !spec.primaryKey.length)
		return `${spec.mode} needs a primary key: give the primary key columns so the new table ${spec.table} gets one.`;
	const fields = new Map<string, RowShape['fields'][number]>();
	const ignoredFields: string[] = [];
	for (const field of shape.fields) {
		const first = fields.get(field.name.toLowerCase());
		if (!first) fields.set(field.name.toLowerCase(), field);
		else if (spec.missingColumns !== 'ignore') return caseClash(spec, first.name, field.name);
		else ignoredFields.push(field.name);
	}
	const given = spec.columns;
	const columns = given
		? given.map((column) => ({ ...column, field: fields.get(column.name.toLowerCase())?.name }))
		: [...fields.values()].map((field) => ({ name: field.name, type: typeFor(field.kinds), field: field.name }));
	const known = new Set(given?.map((column) => column.name.toLowerCase()));
	if (given)
		for (const field of fields.values()) if (!known.has(field.name.toLowerCase())) ignoredFields.push(field.name);
	if (given && spec.missingColumns === 'fail' && ignoredFields.length)
		return `field ${ignoredFields[0]} is not among the columns given for table ${spec.table}. Add it to the columns, or set missing columns to ignore`;
	return { columns, key: spec.primaryKey, create: true, add: [], ignoredFields };
}

function caseClash(spec: ResolvedInsert, first: string, second: string): string {
	return `fields ${first} and ${second} differ only in case, and DuckDB's column names ignore case, so table ${spec.table} can hold only one of them. Map Each Column Below (e.g. ${second} as ${second.toLowerCase()}_2), or set fields without a column to ignore (the first one is kept)`;
}
