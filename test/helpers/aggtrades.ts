/**
 * Files in Binance's aggTrades format for tests and benchmarks, written by DuckDB itself (COPY) so that millions of
 * rows take seconds: CSV with or without a header, gzip, Parquet, NDJSON and JSON arrays. Also a read-only query
 * helper that opens and closes the database at once, so it never holds the lock while a run needs it.
 */
import { DuckDBInstance } from '@duckdb/node-api';

/** Binance aggTrades columns (the newer files' header names). */
export const AGGTRADES_COLUMNS =
	'agg_trade_id BIGINT, price DOUBLE, quantity DOUBLE, first_trade_id BIGINT, last_trade_id BIGINT, transact_time BIGINT, is_buyer_maker BOOLEAN';

export interface AggTradesFile {
	rows: number;
	/** First agg_trade_id; ids are consecutive. */
	start?: number;
	format?: 'csv' | 'parquet' | 'ndjson' | 'json';
	header?: boolean;
	gzip?: boolean;
	/** Added to every price: tells two versions of the same rows apart. */
	priceOffset?: number;
}

function selectRows(file: AggTradesFile): string {
	const start = file.start ?? 1;
	const offset = file.priceOffset ?? 0;
	return `SELECT range AS agg_trade_id, ${40000 + offset} + (range % 1000) * 0.5 AS price, ((range * 7) % 1000) * 0.001 AS quantity,
		range * 3 AS first_trade_id, range * 3 + 2 AS last_trade_id, 1700000000000 + range * 10 AS transact_time, (range % 2 = 0) AS is_buyer_maker
		FROM range(${start}, ${start + file.rows})`;
}

export async function writeAggTrades(path: string, file: AggTradesFile): Promise<void> {
	const instance = await DuckDBInstance.create(':memory:');
	const connection = await instance.connect();
	const format = file.format ?? 'csv';
	const options =
		format === 'csv'
			? [`HEADER ${file.header ?? true}`, ...(file.gzip ? ["COMPRESSION 'gzip'"] : [])]
			: format === 'parquet'
				? ['FORMAT parquet']
				: ['FORMAT json', `ARRAY ${format === 'json'}`];
	try {
		await connection.run(`COPY (${selectRows(file)}) TO '${path.replace(/'/g, "''")}' (${options.join(', ')})`);
	} finally {
		connection.closeSync();
		instance.closeSync();
	}
}

/** Runs a query read-only and returns its rows (BIGINT as bigint). */
export async function query(db: string, sql: string): Promise<Array<Record<string, unknown>>> {
	const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
	try {
		const connection = await instance.connect();
		const reader = await connection.runAndReadAll(sql);
		connection.closeSync();
		return reader.getRowObjectsJS();
	} finally {
		instance.closeSync();
	}
}

export async function countRows(db: string, table: string): Promise<number> {
	const [row] = await query(db, `SELECT count(*) AS n FROM ${table}`);
	return Number(row.n);
}

/** Creates (or opens) a database read-write and runs `sql` in it, then closes it. */
export async function createDatabase(db: string, sql: string): Promise<void> {
	const instance = await DuckDBInstance.create(db);
	try {
		const connection = await instance.connect();
		await connection.run(sql);
		connection.closeSync();
	} finally {
		instance.closeSync();
	}
}
