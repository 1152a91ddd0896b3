/**
 * What the built-in operations are asked to do (Ingest Files, Run SQL), and the checks made before anything runs:
 * bad input is a UsageError with a message that says what to fix, and nothing is created.
 */
import { availableParallelism, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../base/errors';
import { quoteIdentifier } from '../duckdb/sql-text';
import { WRITE_MODES, type WriteMode } from '../outcome/operation-reports';
import { isDirectory, realPathOf } from '../base/paths';
import { n8nProtectedPaths, type FileAccess } from '../base/file-access';

export const FORMATS = ['auto', 'csv', 'parquet', 'json', 'ndjson'] as const;
export type Format = (typeof FORMATS)[number];
export const CSV_HEADERS = ['auto', 'yes', 'no'] as const;
export type CsvHeader = (typeof CSV_HEADERS)[number];

export interface Column {
	name: string;
	type: string;
}

/** Settings both operations share: where the database is, what SQL may touch, how much of the machine it may use. */
export interface DatabaseSettings {
	databasePath: string;
	/** Folders SQL may read or write besides the database's own (explicit widening). */
	extraDirectories?: string[];
	/** DuckDB worker threads (default: DuckDB's, one per core). */
	threads?: number;
	/** DuckDB memory limit, e.g. '2GB' (default: DuckDB's, 80% of RAM). */
	memoryLimit?: string;
}

export interface IngestSpec extends DatabaseSettings {
	/** File paths or globs (`*`, `**`, `?`, `[abc]`); relative ones are resolved against the current folder. */
	sources: string[];
	/** Target table, optionally schema-qualified (`main.trades`). */
	table: string;
	format?: Format;
	csvHeader?: CsvHeader;
	csvDelimiter?: string;
	mode?: WriteMode;
	/** The table's columns when it has to be created; absent: inferred from the first file. */
	columns?: Column[];
	/** Primary key for a table we create (needed by insertOrIgnore and upsert). */
	primaryKey?: string[];
}

export interface SqlSpec extends DatabaseSettings {
	sql: string;
	/** Return the rows of the last statement (when it returns rows), at most rowLimit of them. */
	returnRows?: boolean;
	rowLimit?: number;
}

export const SQL_DEFAULTS = { rowLimit: 1000, maxRowLimit: 100_000 };

export type ResolvedIngest = Required<
	Pick<IngestSpec, 'databasePath' | 'sources' | 'table' | 'format' | 'csvHeader' | 'mode' | 'primaryKey'>
> &
	Pick<IngestSpec, 'csvDelimiter' | 'columns' | 'threads' | 'memoryLimit'> & { tableName: QualifiedName };
export type ResolvedSql = Required<Pick<SqlSpec, 'databasePath' | 'sql' | 'returnRows' | 'rowLimit'>> &
	Pick<SqlSpec, 'threads' | 'memoryLimit'>;

export interface QualifiedName {
	schema: string;
	name: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
/** A DuckDB type as people write it: BIGINT, DECIMAL(18, 8), VARCHAR[], TIMESTAMP WITH TIME ZONE. */
const TYPE = /^[A-Za-z][A-Za-z0-9_]*( [A-Za-z][A-Za-z0-9_]*)*( ?\(\s*\d+(\s*,\s*\d+)?\s*\))?(\[\d*\])*$/;
/** Words that would turn a type into a constraint or a default: not a type. */
const NOT_TYPE_WORDS = /\b(CHECK|DEFAULT|PRIMARY|KEY|REFERENCES|GENERATED|AS|NOT|NULL|COLLATE|UNIQUE|CONSTRAINT)\b/i;
const MEMORY = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

export function qualified(name: QualifiedName): string {
	return `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.name)}`;
}

export function parseTableName(text: string): QualifiedName {
	const parts = text.trim().split('.');
	if (!text.trim() || parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
		throw new UsageError(
			`"${text}" is not a table name. Use letters, digits and underscores, not starting with a digit, optionally with a schema (main.trades).`,
		);
	}
	return parts.length === 2 ? { schema: parts[0], name: parts[1] } : { schema: 'main', name: parts[0] };
}

export function checkIdentifier(name: string, what: string): string {
	if (!IDENTIFIER.test(name))
		throw new UsageError(
			`${what} "${name}" is not a column name. Use letters, digits and underscores, not starting with a digit.`,
		);
	return name;
}

/** "id BIGINT, price DECIMAL(18, 8)" → columns. Commas inside parentheses belong to the type. */
export function parseColumns(text: string): Column[] {
	const entries: string[] = [];
	let depth = 0;
	let current = '';
	for (const char of text) {
		if (char === '(') depth++;
		if (char === ')') depth--;
		if (char === ',' && depth === 0) {
			entries.push(current);
			current = '';
		} else current += char;
	}
	entries.push(current);
	return entries
		.map((entry) => entry.trim())
		.filter(Boolean)
		.map((entry) => {
			const match = /^(\S+)\s+(.+)$/.exec(entry);
			if (!match) throw new UsageError(`Column "${entry}" needs a name and a type, e.g. "price DOUBLE".`);
			return { name: match[1], type: match[2].trim() };
		});
}

export function parseNameList(text: string): string[] {
	return text
		.split(',')
		.map((name) => name.trim())
		.filter(Boolean);
}

const MEMORY_UNITS: Record<string, number> = {
	b: 1,
	kb: 1e3,
	mb: 1e6,
	gb: 1e9,
	tb: 1e12,
	kib: 2 ** 10,
	mib: 2 ** 20,
	gib: 2 ** 30,
	tib: 2 ** 40,
};

/** `4GB`, `512 MiB` in bytes (DuckDB's units: KB = 1000, KiB = 1024). */
export function memoryBytes(text: string): number {
	const match = MEMORY.exec(text.trim());
	if (!match) return Number.NaN;
	return Number.parseFloat(text) * MEMORY_UNITS[match[2].toLowerCase()];
}

/**
 * DuckDB's threads and memory, bounded by the machine: DuckDB makes every thread it is told to (100,000 once made
 * 30,557 threads and a load of 6,400 within seconds), and a memory limit above the RAM limits nothing.
 */
export function checkSettings(
	settings: DatabaseSettings,
	machine = { cores: availableParallelism(), memoryBytes: totalmem() },
): void {
	if (
		settings.threads !== undefined &&
		(!Number.isInteger(settings.threads) || settings.threads < 1 || settings.threads > machine.cores)
	) {
		throw new UsageError(
			`Threads must be a whole number of at least 1 and at most ${machine.cores}, the cores of this machine (got ${settings.threads}).`,
		);
	}
	if (settings.memoryLimit === undefined) return;
	const bytes = memoryBytes(settings.memoryLimit);
	if (Number.isNaN(bytes))
		throw new UsageError(`Memory limit "${settings.memoryLimit}" is not a size. Write it like 512MB or 4GB.`);
	if (bytes > machine.memoryBytes) {
		throw new UsageError(
			`Memory limit ${settings.memoryLimit} is more than this machine has (${Math.floor(machine.memoryBytes / 2 ** 20)} MiB). Give a smaller limit, e.g. half of it.`,
		);
	}
}

/** Columns as given for a new table: names are identifiers, types are DuckDB types and nothing else. */
export function checkColumns(columns: Column[]): Column[] {
	return columns.map((column) => {
		checkIdentifier(column.name, 'Column');
		if (!TYPE.test(column.type.trim()) || NOT_TYPE_WORDS.test(column.type))
			throw new UsageError(
				`"${column.type}" (column ${column.name}) is not a DuckDB type, e.g. BIGINT, DOUBLE, VARCHAR, TIMESTAMP.`,
			);
		return { name: column.name, type: column.type.trim() };
	});
}

/**
 * A source path or glob as it is checked, sandboxed and reported: absolute and normalised (./, //, ..), so one file
 * has one spelling, and a `..` after a wildcard is resolved before the folder before the wildcard is taken.
 */
export function normaliseSource(source: string): string {
	return resolve(source.trim());
}

/** The folder part of a glob before its first wildcard: the folder SQL must be allowed to read. */
export function globBase(glob: string): string {
	const parts = glob.split('/');
	const wild = parts.findIndex((part) => /[*?[{]/.test(part));
	if (wild < 0) return dirname(glob);
	const base = parts.slice(0, wild).join('/');
	return base || '/';
}

export function resolveIngestSpec(spec: IngestSpec): ResolvedIngest {
	checkSettings(spec);
	const sources = spec.sources
		.map((source) => source.trim())
		.filter(Boolean)
		.map(normaliseSource);
	if (!sources.length)
		throw new UsageError(
			'No source files given. Give one or more file paths or globs, e.g. /data/binance/BTCUSDT-aggTrades-*.csv.',
		);
	for (const source of sources) {
		const base = globBase(source);
		if (!isDirectory(base))
			throw new UsageError(`The source folder ${base} (of ${source}) does not exist. Create it, or fix the path.`);
	}
	const format = spec.format ?? 'auto';
	if (!FORMATS.includes(format))
		throw new UsageError(`Format "${format}" is unknown. Use one of: ${FORMATS.join(', ')}.`);
	const csvHeader = spec.csvHeader ?? 'auto';
	if (!CSV_HEADERS.includes(csvHeader))
		throw new UsageError(`CSV header "${csvHeader}" is unknown. Use auto, yes or no.`);
	const mode = spec.mode ?? 'append';
	if (!WRITE_MODES.includes(mode))
		throw new UsageError(`Write mode "${mode}" is unknown. Use one of: ${WRITE_MODES.join(', ')}.`);
	if (spec.csvDelimiter !== undefined && spec.csvDelimiter.length !== 1)
		throw new UsageError(`The CSV delimiter must be one character (got "${spec.csvDelimiter}").`);
	const columns = spec.columns?.length ? checkColumns(spec.columns) : undefined;
	const primaryKey = (spec.primaryKey ?? []).map((name) => checkIdentifier(name, 'Primary key column'));
	if (columns && primaryKey.some((name) => !columns.some((column) => column.name === name))) {
		throw new UsageError(
			`The primary key (${primaryKey.join(', ')}) names a column that is not among the columns given.`,
		);
	}
	return {
		databasePath: spec.databasePath,
		sources: [...new Set(sources)],
		table: spec.table,
		tableName: parseTableName(spec.table),
		format,
		csvHeader,
		csvDelimiter: spec.csvDelimiter,
		mode,
		columns,
		primaryKey,
		threads: spec.threads,
		memoryLimit: spec.memoryLimit?.trim(),
	};
}

export function resolveSqlSpec(spec: SqlSpec): ResolvedSql {
	checkSettings(spec);
	if (!spec.sql.trim()) throw new UsageError('The SQL is empty. Give one or more statements.');
	const rowLimit = spec.rowLimit ?? SQL_DEFAULTS.rowLimit;
	if (!Number.isInteger(rowLimit) || rowLimit < 1 || rowLimit > SQL_DEFAULTS.maxRowLimit) {
		throw new UsageError(
			`The row limit must be a whole number from 1 to ${SQL_DEFAULTS.maxRowLimit} (got ${rowLimit}).`,
		);
	}
	return {
		databasePath: spec.databasePath,
		sql: spec.sql,
		returnRows: spec.returnRows ?? false,
		rowLimit,
		threads: spec.threads,
		memoryLimit: spec.memoryLimit?.trim(),
	};
}

/**
 * What SQL may touch: the database's folder, the sources' folders and what the caller widens explicitly, minus n8n's
 * own files (its folder holds the key to every credential), which no setting opens. Real paths throughout.
 */
export function fileAccessFor(
	databasePath: string,
	sources: string[],
	extra: string[] = [],
	env: NodeJS.ProcessEnv = process.env,
): FileAccess {
	for (const folder of extra) {
		if (!isDirectory(resolve(folder)))
			throw new UsageError(`The allowed folder ${folder} does not exist. Create it, or remove it from the list.`);
	}
	const folders = [dirname(resolve(databasePath)), ...sources.map(globBase), ...extra.map((folder) => resolve(folder))];
	return { allowed: [...new Set(folders.map(realPathOf))], denied: n8nProtectedPaths(env) };
}
