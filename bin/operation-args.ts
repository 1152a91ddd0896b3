/**
 * The command-line options of the built-in operations (--ingest, --sql) of duckdb-safe-ingest: their parseArgs
 * table, help text and conversion into the core's specs.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../lib/base/errors';
import {
	CSV_HEADERS,
	FORMATS,
	parseColumns,
	parseNameList,
	SQL_DEFAULTS,
	type CsvHeader,
	type Format,
} from '../lib/operations/spec';
import type { WriteMode } from '../lib/outcome/operation-reports';
import type { OperationRequest } from '../lib/operations/dispatch';
import { rowFileFromNdjson } from '../lib/operations/insert-rows/row-file';
import type { InsertSpec } from '../lib/operations/insert-rows/spec';

export const OPERATION_OPTIONS = {
	ingest: { type: 'string', multiple: true },
	table: { type: 'string' },
	format: { type: 'string' },
	header: { type: 'string' },
	delimiter: { type: 'string' },
	mode: { type: 'string' },
	columns: { type: 'string' },
	'primary-key': { type: 'string' },
	sql: { type: 'string' },
	rows: { type: 'string' },
	'insert-rows': { type: 'string' },
	'batch-size': { type: 'string' },
	'missing-columns': { type: 'string' },
	nested: { type: 'string' },
	'allow-dir': { type: 'string', multiple: true },
	threads: { type: 'string' },
	'memory-limit': { type: 'string' },
} as const;

export const OPERATION_HELP = `Built-in operations (instead of a COMMAND; run in a worker process under the same lock and timeout):
  --ingest GLOB             load files into --table (repeatable); CSV (.csv, .csv.gz), Parquet, JSON, NDJSON.
                            Each file is its own transaction, recorded in the table duckdb_safe_ingest_files;
                            unchanged files are skipped on the next run, so a stopped run resumes
  --insert-rows FILE        write the rows of FILE (NDJSON: one JSON object per line; - for stdin) into --table,
                            with DuckDB's appender; --mode, --columns and --primary-key as for --ingest
  --batch-size N            with --insert-rows: commit every N rows (default: all rows in one transaction)
  --missing-columns M       with --insert-rows: fields the table lacks: ignore (default), add, fail
  --nested N                with --insert-rows: objects and arrays: json (default, into JSON columns), refuse
  --table NAME              target table (created when missing), e.g. trades or main.trades
  --format F                ${FORMATS.join(', ')} (default auto: from the file name)
  --header H                CSV header line: ${CSV_HEADERS.join(', ')} (default auto)
  --delimiter C             CSV delimiter (default: detected)
  --mode M                  append (default), replace (one transaction), insert-or-ignore, upsert (need a primary key)
  --columns "A TYPE, ..."   columns of a new table (default: inferred from the first file)
  --primary-key A[,B]       primary key of a new table
  --sql FILE                run the SQL script FILE (- for stdin) in one transaction
  --rows N                  with --sql: print the last query's rows (at most N, max ${SQL_DEFAULTS.maxRowLimit}) as JSON lines
  --allow-dir DIR           SQL may also read/write DIR (repeatable); otherwise only the database's and the sources' folders
  --threads N               DuckDB threads (default: one per core)
  --memory-limit SIZE       DuckDB memory limit, e.g. 4GB`;

type Values = {
	[K in keyof typeof OPERATION_OPTIONS]?: (typeof OPERATION_OPTIONS)[K] extends { multiple: true } ? string[] : string;
};

/** Which options belong to which use: each is refused, with a clear message, anywhere else. */
const INGEST_ONLY = ['table', 'format', 'header', 'delimiter', 'mode', 'columns', 'primary-key'] as const;
const FILES_ONLY = ['format', 'header', 'delimiter'] as const;
const INSERT_ONLY = ['batch-size', 'missing-columns', 'nested'] as const;
const SQL_ONLY = ['rows'] as const;
const SHARED = ['allow-dir', 'threads', 'memory-limit'] as const;

function refuseOptions(values: Values, names: ReadonlyArray<keyof Values>, belongs: string): void {
	const stray = names.find((name) => values[name] !== undefined);
	if (stray) throw new UsageError(`--${stray} belongs to ${belongs}. See --help.`);
}

const MODES: Record<string, WriteMode> = {
	append: 'append',
	replace: 'replace',
	'insert-or-ignore': 'insertOrIgnore',
	upsert: 'upsert',
};

function positiveInteger(text: string | undefined, option: string): number | undefined {
	if (text === undefined) return undefined;
	if (!/^\d+$/.test(text) || Number(text) < 1)
		throw new UsageError(`${option} ${text}: give a whole number of at least 1.`);
	return Number(text);
}

export type BuiltInRequest = Exclude<OperationRequest, { operation: 'runCommand' }> | undefined;

/** The operation asked for, or undefined for a plain COMMAND. */
export function operationFrom(values: Values, databasePath: string, hasCommand: boolean): BuiltInRequest {
	const ingest = values.ingest?.length ? values.ingest : undefined;
	if ([ingest, values.sql, values['insert-rows'], hasCommand || undefined].filter(Boolean).length > 1) {
		throw new UsageError('Give one of: a COMMAND after --, --ingest GLOB, --sql FILE or --insert-rows FILE.');
	}
	if (!values['insert-rows']) refuseOptions(values, INSERT_ONLY, '--insert-rows');
	const shared = {
		databasePath,
		extraDirectories: values['allow-dir'],
		threads: positiveInteger(values.threads, '--threads'),
		memoryLimit: values['memory-limit'],
	};
	if (values['insert-rows']) return insertRequest(values, shared);
	if (ingest) {
		if (!values.table) throw new UsageError('--ingest needs --table NAME: the table to load the files into.');
		refuseOptions(values, SQL_ONLY, '--sql, not --ingest');
		return {
			operation: 'ingestFiles',
			spec: {
				...shared,
				sources: ingest,
				table: values.table,
				format: values.format as Format | undefined,
				csvHeader: values.header as CsvHeader | undefined,
				csvDelimiter: values.delimiter,
				mode: modeOf(values),
				columns: values.columns ? parseColumns(values.columns) : undefined,
				primaryKey: values['primary-key'] ? parseNameList(values['primary-key']) : undefined,
			},
		};
	}
	if (values.sql) {
		let sql: string;
		try {
			sql = readFileSync(values.sql === '-' ? 0 : values.sql, 'utf8');
		} catch (error) {
			throw new UsageError(
				`--sql ${values.sql}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}). Give the path of a SQL file.`,
			);
		}
		refuseOptions(values, INGEST_ONLY, '--ingest, not --sql');
		const rows = positiveInteger(values.rows, '--rows');
		return { operation: 'runSql', spec: { ...shared, sql, returnRows: rows !== undefined, rowLimit: rows } };
	}
	refuseOptions(values, [...INGEST_ONLY, ...SQL_ONLY, ...SHARED], '--ingest, --sql or --insert-rows');
	return undefined;
}

function modeOf(values: Values): WriteMode | undefined {
	const mode = values.mode === undefined ? undefined : MODES[values.mode];
	if (values.mode !== undefined && !mode)
		throw new UsageError(`--mode ${values.mode}: use append, replace, insert-or-ignore or upsert.`);
	return mode;
}

/** --insert-rows: the NDJSON read (and checked line by line) into a row file, removed when the process exits. */
function insertRequest(values: Values, shared: Omit<InsertSpec, 'rows' | 'table'>): BuiltInRequest {
	if (!values.table) throw new UsageError('--insert-rows needs --table NAME: the table to write the rows into.');
	refuseOptions(values, [...SQL_ONLY, ...FILES_ONLY], '--ingest or --sql, not --insert-rows');
	const batch = values['batch-size'];
	if (batch !== undefined && !/^\d+$/.test(batch))
		throw new UsageError(`--batch-size ${batch}: give a whole number of rows (0: one transaction).`);
	const spec = {
		...shared,
		table: values.table,
		mode: modeOf(values),
		columns: values.columns ? parseColumns(values.columns) : undefined,
		primaryKey: values['primary-key'] ? parseNameList(values['primary-key']) : undefined,
		batchSize: batch === undefined ? undefined : Number(batch),
		missingColumns: values['missing-columns'] as InsertSpec['missingColumns'],
		nested: values.nested as InsertSpec['nested'],
	};
	const writer = rowFileFromNdjson(values['insert-rows']!);
	process.on('exit', () => writer.dispose());
	return { operation: 'insertRows', spec: { ...spec, rows: writer.file } };
}
