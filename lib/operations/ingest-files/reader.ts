/**
 * Which DuckDB reader a file needs (from its extension, or as set), and the table function call that reads it.
 * CSV is read positionally with the table's own columns once the table exists: Binance's older files have no
 * header and its newer ones do, and DuckDB's sniffer still tells a header line from data when the columns are given.
 */
import { type Column, type CsvHeader, type Format } from '../spec';
import { quoteIdentifier, quoteLiteral } from '../../duckdb/sql-text';

export type FileFormat = Exclude<Format, 'auto'>;

const EXTENSIONS: Array<[RegExp, FileFormat]> = [
	[/\.(csv|tsv|txt)(\.gz|\.zst)?$/i, 'csv'],
	[/\.parquet$/i, 'parquet'],
	[/\.(ndjson|jsonl)(\.gz|\.zst)?$/i, 'ndjson'],
	[/\.json(\.gz|\.zst)?$/i, 'json'],
];

export function formatOf(path: string, format: Format): FileFormat | undefined {
	if (format !== 'auto') return format;
	return EXTENSIONS.find(([pattern]) => pattern.test(path))?.[1];
}

export interface ReadOptions {
	csvHeader: CsvHeader;
	csvDelimiter?: string;
	/** The target table's columns, when it exists (or is about to be created from given columns). */
	columns?: Column[];
}

export function readerCall(path: string, format: FileFormat, options: ReadOptions): string {
	const file = quoteLiteral(path);
	switch (format) {
		case 'csv': {
			const parts = [file];
			if (options.csvHeader !== 'auto') parts.push(`header = ${options.csvHeader === 'yes'}`);
			if (options.csvDelimiter) parts.push(`delim = ${quoteLiteral(options.csvDelimiter)}`);
			if (options.columns)
				parts.push(
					`columns = {${options.columns.map((column) => `${quoteLiteral(column.name)}: ${quoteLiteral(column.type)}`).join(', ')}}`,
				);
			return `read_csv(${parts.join(', ')})`;
		}
		case 'parquet':
			return `read_parquet(${file})`;
		case 'json':
			return `read_json(${file}, format = 'auto')`;
		case 'ndjson':
			return `read_json(${file}, format = 'newline_delimited')`;
	}
}

/** CSV lines up by position with the table (the reader was given its columns); the other formats by name. */
export function insertColumns(format: FileFormat): 'BY POSITION' | 'BY NAME' {
	return format === 'csv' ? 'BY POSITION' : 'BY NAME';
}

export function columnList(columns: Column[]): string {
	return columns.map((column) => `${quoteIdentifier(column.name)} ${column.type}`).join(', ');
}
