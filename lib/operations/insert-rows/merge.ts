/**
 * The SQL of the write modes that need to look at the table's rows (Insert or Ignore, Upsert): the rows are first
 * appended to a temporary staging table with their item index, then merged as if the items had been written one after
 * another: the first item of a new key inserts it, later items of that key are ignored (Insert or Ignore) or update it
 * (Upsert), as do items whose key the table already has.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier as q } from '../../duckdb/sql-text';
import type { Column } from '../spec';

export const STAGING = 'duckdb_safe_ingest_rows';
export const ITEM_COLUMN = 'duckdb_safe_ingest_item';
const FRESH = 'duckdb_safe_ingest_fresh';

export async function createStaging(connection: DuckDBConnection, columns: Column[]): Promise<void> {
	const list = columns.map((column) => `${q(column.name)} ${column.type}`).join(', ');
	await connection.run(`CREATE OR REPLACE TEMP TABLE ${q(STAGING)} (${list}, ${q(ITEM_COLUMN)} BIGINT)`);
}

export interface MergeResult {
	inserted: number;
	/** Items that did not insert a row: ignored (Insert or Ignore) or updated one (Upsert). */
	others: number;
	/** Their item indexes, ascending, when asked for. */
	otherItems?: number[];
}

/** Merges the staged rows into the table (target: its quoted name) and empties the staging table. */
export async function merge(
	connection: DuckDBConnection,
	target: string,
	columns: Column[],
	key: string[],
	mode: 'insertOrIgnore' | 'upsert',
	listItems: boolean,
): Promise<MergeResult> {
	const names = columns.map((column) => q(column.name)).join(', ');
	const keyList = key.map(q).join(', ');
	const match = key.map((name) => `t.${q(name)} = s.${q(name)}`).join(' AND ');
	const staging = q(STAGING);
	const item = q(ITEM_COLUMN);
	await connection.run(
		`CREATE OR REPLACE TEMP TABLE ${q(FRESH)} AS SELECT ${item} FROM ${staging} s WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${match}) QUALIFY row_number() OVER (PARTITION BY ${key.map((name) => `s.${q(name)}`).join(', ')} ORDER BY ${item}) = 1`,
	);
	if (mode === 'insertOrIgnore') {
		await connection.run(
			`INSERT INTO ${target} (${names}) SELECT ${names} FROM ${staging} WHERE ${item} IN (SELECT ${item} FROM ${q(FRESH)}) ORDER BY ${item}`,
		);
	} else {
		const keyed = new Set(key.map((name) => name.toLowerCase()));
		const set = columns
			.filter((column) => !keyed.has(column.name.toLowerCase()))
			.map((column) => `${q(column.name)} = excluded.${q(column.name)}`);
		const action = set.length ? `DO UPDATE SET ${set.join(', ')}` : 'DO NOTHING';
		await connection.run(
			`INSERT INTO ${target} (${names}) SELECT ${names} FROM (SELECT * FROM ${staging} QUALIFY row_number() OVER (PARTITION BY ${keyList} ORDER BY ${item} DESC) = 1) ON CONFLICT (${keyList}) ${action}`,
		);
	}
	const counts = (
		await connection.runAndReadAll(
			`SELECT (SELECT count(*) FROM ${q(FRESH)}) AS inserted, (SELECT count(*) FROM ${staging}) AS staged`,
		)
	).getRowObjectsJson()[0];
	const inserted = Number(counts.inserted);
	const result: MergeResult = { inserted, others: Number(counts.staged) - inserted };
	if (listItems && result.others > 0) {
		const rows = await connection.runAndReadAll(
			`SELECT ${item} AS i FROM ${staging} WHERE ${item} NOT IN (SELECT ${item} FROM ${q(FRESH)}) ORDER BY ${item}`,
		);
		result.otherItems = rows.getColumnsJson()[0].map(Number);
	}
	await connection.run(`DELETE FROM ${staging}`);
	return result;
}
