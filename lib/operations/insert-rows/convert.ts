/**
 * How an item's value goes into a column through DuckDB's appender: by the column's type. A value the column cannot
 * hold throws (DuckDB's own cast refuses a string that is not a number, a date that is not a date); so do the cases
 * DuckDB would accept silently but change (1.5 into BIGINT would be rounded, an object into VARCHAR flattened).
 */
import { DuckDBTimestampTZValue, type DuckDBAppender } from '@duckdb/node-api';

export type Append = (appender: DuckDBAppender, value: unknown) => void;

const INTEGER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const NUMBER = /^(DOUBLE|FLOAT|REAL|DECIMAL(\(.*\))?)$/;

function describe(value: unknown): string {
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'object') return 'an object';
	return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

function refuse(value: unknown, type: string): never {
	throw new Error(`${describe(value)} does not fit ${type}`);
}

/** A scalar as DuckDB casts it: numbers exactly, strings through DuckDB's cast. */
function scalar(appender: DuckDBAppender, value: unknown, type: string): void {
	if (typeof value === 'string') appender.appendVarchar(value);
	else if (typeof value === 'number') appender.appendDouble(value);
	else if (typeof value === 'boolean') appender.appendBoolean(value);
	else refuse(value, type);
}

const FRACTION = /\.(\d+)/;

/**
 * An ISO time with an offset in microseconds since the epoch: the appender's own text cast to TIMESTAMPTZ drops the
 * offset (DuckDB 1.5: '03:04:07+02:00' was stored as 03:04:07 UTC), so the offset is applied here.
 */
export function timestampTzMicros(text: string): bigint | undefined {
	const fraction = FRACTION.exec(text)?.[1] ?? '';
	const seconds = Date.parse(text.replace(FRACTION, ''));
	if (Number.isNaN(seconds)) return undefined;
	return BigInt(seconds) * 1000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
}

/** The appender call for a column of this type (DuckDB's name, as duckdb_columns gives it). */
export function appendFor(type: string, nested: 'json' | 'refuse'): Append {
	const upper = type.toUpperCase();
	if (INTEGER.test(upper))
		return (appender, value) => {
			if (typeof value === 'number' && !Number.isInteger(value)) refuse(value, type);
			if (typeof value === 'boolean' || typeof value === 'object') refuse(value, type);
			scalar(appender, value, type);
		};
	if (NUMBER.test(upper))
		return (appender, value) => {
			if (typeof value === 'boolean') refuse(value, type);
			scalar(appender, value, type);
		};
	if (upper === 'BOOLEAN')
		return (appender, value) => (typeof value === 'number' ? refuse(value, type) : scalar(appender, value, type));
	if (upper === 'TIMESTAMP WITH TIME ZONE' || upper === 'TIMESTAMPTZ')
		return (appender, value) => {
			const micros = typeof value === 'string' ? timestampTzMicros(value) : undefined;
			if (micros === undefined) scalar(appender, value, type);
			else appender.appendTimestampTZ(new DuckDBTimestampTZValue(micros));
		};
	if (upper === 'JSON') return (appender, value) => appender.appendVarchar(JSON.stringify(value));
	if (upper === 'VARCHAR')
		return (appender, value) => {
			if (typeof value === 'string') appender.appendVarchar(value);
			else if (typeof value !== 'object') appender.appendVarchar(String(value));
			else if (nested === 'json') appender.appendVarchar(JSON.stringify(value));
			else refuse(value, type);
		};
	// Dates, times, UUIDs, lists, structs: DuckDB casts the text (a list or struct from its JSON).
	return (appender, value) => appender.appendVarchar(typeof value === 'object' ? JSON.stringify(value) : String(value));
}
