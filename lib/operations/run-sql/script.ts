/**
 * Run SQL, inside the worker: the whole script in one transaction (one statement: its own, DuckDB's autocommit). DuckDB parses the script first (a syntax error
 * runs nothing); statements are then prepared and run one by one (a later one may use a table an earlier one made).
 * Any failure or a stop rolls everything back.
 *
 * Two gates, both deny by default. First, before DuckDB prepares any statement, the guard (sql-guard.ts) reads the
 * script's text: every statement must start with an allowed keyword, and every built-in table or pragma function it
 * calls must be one known to only read; a refusal runs and prepares nothing. Preparing is not harmless: DuckDB 1.5
 * creates EXPORT DATABASE's folder while preparing it, even at '<database>.wal', after which the database no longer
 * opens. Second, each prepared statement's type must be in ALLOWED before it runs. An allowlist, because a statement
 * reaches us as its own type, not as what it runs: `PREPARE w AS COPY …; EXECUTE w` arrives as PREPARE and EXECUTE,
 * `EXPLAIN ANALYZE COPY …` and `EXPLAIN ANALYZE COMMIT` as EXPLAIN, and all of them ran (seen with DuckDB 1.5).
 * Refused, among others: statements that write files (DuckDB exempts the open database and its WAL from
 * allowed_directories, so `COPY (…) TO '<database>.wal' (USE_TMP_FILE false)` would overwrite them, and ATTACH
 * could create a database file named like the WAL), our transaction's BEGIN/COMMIT/ROLLBACK, extensions, PRAGMAs
 * that change settings (they bypass lock_configuration), and table functions that write files or run SQL from a
 * string (enable_profiling, enable_logging, query…). Reading files (read_csv, read_parquet, …) stays allowed in the
 * allowed folders.
 */
import {
	ResultReturnType,
	StatementType,
	type DuckDBConnection,
	type DuckDBExtractedStatements,
	type DuckDBPreparedStatement,
} from '@duckdb/node-api';
import type { SqlReport } from '../../outcome/operation-reports';
import type { ResolvedSql } from '../spec';
import type { WorkerControl } from '../ingest-files/load';
import { messageOf } from '../../base/errors';
import { checkScript } from './guard';
import { ONLY, TRANSACTION, WHY } from './refusals';

/** Rows as n8n items can carry them: BIGINT as a number when exact, else a string; dates as ISO text; bytes as base64. */
export function jsonSafe(value: unknown): unknown {
	if (typeof value === 'bigint')
		return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
			? Number(value)
			: value.toString();
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
	if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
	if (Array.isArray(value)) return value.map(jsonSafe);
	if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
	if (value && typeof value === 'object')
		return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, jsonSafe(entry)]));
	return value;
}

/** Statements that answer with a count of changed rows (or nothing), never with rows to read. */
const COUNTS_ONLY = new Set<StatementType>([
	StatementType.INSERT,
	StatementType.UPDATE,
	StatementType.DELETE,
	StatementType.MERGE_INTO,
	StatementType.CREATE,
	StatementType.ALTER,
	StatementType.DROP,
]);

/**
 * What a script may contain. CALL runs a table function, which SELECT * FROM could run as well (both confined by
 * allowed_directories). SET is what DuckDB makes of SET, RESET, SET VARIABLE, USE and PRAGMA x = y: the sandbox has
 * locked the configuration, so only variables, the schema and the search path can change (DuckDB refuses the rest).
 * Informational PRAGMAs (table_info, show_tables, database_size, storage_info, version) arrive as SELECT. ANALYZE
 * and VACUUM arrive as VACUUM.
 */
const ALLOWED = new Set<StatementType>([
	...COUNTS_ONLY,
	StatementType.SELECT,
	StatementType.CALL,
	StatementType.SET,
	StatementType.VARIABLE_SET,
	StatementType.ANALYZE,
	StatementType.VACUUM,
]);

/** Why a statement type is refused, and what to do instead (the guard refuses these before; this is the second gate). */
const REFUSED = new Map<StatementType, [string, string]>([
	[StatementType.COPY, WHY.copy],
	[StatementType.EXPORT, WHY.export],
	[StatementType.COPY_DATABASE, WHY.copyDatabase],
	[StatementType.ATTACH, WHY.attach],
	[StatementType.DETACH, WHY.detach],
	[StatementType.PREPARE, WHY.prepare],
	[StatementType.EXECUTE, WHY.execute],
	[StatementType.EXPLAIN, WHY.explain],
	[StatementType.LOAD, WHY.load],
	[StatementType.EXTENSION, WHY.extension],
	[StatementType.UPDATE_EXTENSIONS, WHY.updateExtensions],
	[StatementType.PRAGMA, WHY.pragma],
]);

/** Throws when the prepared (not yet run) statement is not one a script may contain. */
function refuse(prepared: DuckDBPreparedStatement): void {
	const type = prepared.statementType;
	if (ALLOWED.has(type)) return;
	if (type === StatementType.TRANSACTION) throw new Error(TRANSACTION);
	const [what, why] = REFUSED.get(type) ?? [`a ${StatementType[type] ?? `type ${type}`} statement`, ONLY];
	throw new Error(`${what} is not allowed in Run SQL: ${why}`);
}

/** Runs a statement whose rows nobody asked for, reading them to the end (so an error in a late chunk still fails). */
async function drain(prepared: DuckDBPreparedStatement, returning: boolean): Promise<number> {
	// Without rows, a materialized run is cheaper than a stream, whose open result also slows the COMMIT down. A
	// RETURNING clause anywhere in the script keeps the stream: its rows could be many.
	if (!returning && COUNTS_ONLY.has(prepared.statementType)) return Number((await prepared.run()).rowsChanged);
	const result = await prepared.stream();
	if (result.returnType === ResultReturnType.CHANGED_ROWS) return Number(result.rowsChanged);
	for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
		// Rows are discarded; only errors matter.
	}
	return 0;
}

/**
 * The built-in table, table-macro and pragma functions of this DuckDB (the guard allows the read-only ones only).
 * A worker asks once per instance (about 20 ms): no session can add built-in functions, since the sandbox never loads
 * extensions (macros are not built in).
 */
export async function builtinTableFunctions(connection: DuckDBConnection): Promise<Set<string>> {
	const reader = await connection.runAndReadAll(
		"SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE internal AND function_type IN ('table', 'table_macro', 'pragma')",
	);
	return new Set(reader.getRows().map(([name]) => String(name)));
}

/** DuckDB's statements of the script once the guard let all of it through; undefined when not (the report says why). */
async function checkedStatements(
	connection: DuckDBConnection,
	spec: ResolvedSql,
	report: SqlReport,
	stopping: () => boolean,
	builtins?: Set<string>,
): Promise<DuckDBExtractedStatements | undefined> {
	let extracted;
	try {
		extracted = await connection.extractStatements(spec.sql);
	} catch (error) {
		// A stop interrupts the parse too: that is a stop, not a script that does not parse.
		if (stopping()) report.stopped = true;
		else report.error = `the SQL does not parse: ${messageOf(error).replace(/^Failed to extract statements: /, '')}`;
		return undefined;
	}
	report.statements = extracted.count;
	// Parsing only split the script; nothing is prepared before the guard has read all of it.
	const refusal = checkScript(spec.sql, extracted.count, builtins ?? (await builtinTableFunctions(connection)));
	if (!refusal) return extracted;
	report.failedStatement = refusal.statement;
	report.error = refusal.message;
	return undefined;
}

/** Runs the script; `builtins` is builtinTableFunctions' answer when the caller has it already. */
export async function runScript(
	connection: DuckDBConnection,
	spec: ResolvedSql,
	control: WorkerControl,
	builtins?: Set<string>,
): Promise<SqlReport> {
	const report: SqlReport = { statements: 0, statementsRun: 0, rowsChanged: 0 };
	const extracted = await checkedStatements(connection, spec, report, control.stopping, builtins);
	if (!extracted) return report;
	// One statement is a transaction by itself (DuckDB's autocommit): no BEGIN and COMMIT round trips. A stop
	// interrupts it like any statement: it then fails and leaves nothing; a statement that ended has committed.
	const single = extracted.count === 1;
	if (!single) await connection.run('BEGIN TRANSACTION');
	try {
		for (let index = 0; index < extracted.count; index++) {
			if (control.stopping()) throw new Error('stopped');
			const prepared = await extracted.prepare(index);
			refuse(prepared);
			if (control.stopping()) throw new Error('stopped');
			const last = index === extracted.count - 1;
			if (last && spec.returnRows) {
				const reader = await prepared.streamAndReadUntil(spec.rowLimit + 1);
				if (reader.returnType === ResultReturnType.QUERY_RESULT) {
					report.rows = reader
						.getRowObjectsJS()
						.slice(0, spec.rowLimit)
						.map((row) => jsonSafe(row) as Record<string, unknown>);
					report.columns = reader.columnNames();
					report.rowsTruncated = reader.currentRowCount > spec.rowLimit;
				} else report.rowsChanged += Number(reader.rowsChanged);
			} else {
				report.rowsChanged += await drain(prepared, /\breturning\b/i.test(spec.sql));
			}
			report.statementsRun++;
			control.progress(`statement ${index + 1}/${extracted.count} done`);
		}
		// A stop now must not interrupt the COMMIT: it would throw while the data is committed all the same.
		if (!single) await control.committing(() => connection.run('COMMIT'));
		report.committed = true;
	} catch (error) {
		if (!single) await connection.run('ROLLBACK').catch(() => undefined);
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
