/**
 * Run SQL, inside the worker: the whole script in one transaction. DuckDB parses the script first (a syntax error
 * runs nothing); statements are then prepared and run one by one (a later one may use a table an earlier one made).
 * Any failure or a stop rolls everything back.
 *
 * Only the statement types in ALLOWED run; every other one is refused after it is prepared (which runs nothing) and
 * before it runs. An allowlist, because a statement reaches us as its own type, not as what it runs: `PREPARE w AS
 * COPY …; EXECUTE w` arrives as PREPARE and EXECUTE, `EXPLAIN ANALYZE COPY …` and `EXPLAIN ANALYZE COMMIT` as
 * EXPLAIN, and all of them ran (seen with DuckDB 1.5). Refused, among others: statements that write files (DuckDB
 * exempts the open database and its WAL from allowed_directories, so `COPY (…) TO '<database>.wal'
 * (USE_TMP_FILE false)` would overwrite them, and ATTACH could create a database file named like the WAL), our
 * transaction's BEGIN/COMMIT/ROLLBACK, extensions, and PRAGMAs that change settings (they bypass
 * lock_configuration). Reading files (read_csv, read_parquet, …) stays allowed in the allowed folders.
 */
import { ResultReturnType, StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import type { SqlReport } from './report';
import type { ResolvedSql } from './spec';
import type { WorkerControl } from './ingest';
import { messageOf } from '../errors';


/** Rows as n8n items can carry them: BIGINT as a number when exact, else a string; dates as ISO text; bytes as base64. */
export function jsonSafe(value: unknown): unknown {
	if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
	if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
	if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
	if (Array.isArray(value)) return value.map(jsonSafe);
	if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
	if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, jsonSafe(entry)]));
	return value;
}

/**
 * What a script may contain. CALL runs a table function, which SELECT * FROM could run as well (both confined by
 * allowed_directories). SET is what DuckDB makes of SET, RESET, SET VARIABLE, USE and PRAGMA x = y: the sandbox has
 * locked the configuration, so only variables, the schema and the search path can change (DuckDB refuses the rest).
 * Informational PRAGMAs (table_info, show_tables, database_size, storage_info, version) arrive as SELECT. ANALYZE
 * and VACUUM arrive as VACUUM.
 */
const ALLOWED = new Set<StatementType>([
	StatementType.SELECT,
	StatementType.INSERT,
	StatementType.UPDATE,
	StatementType.DELETE,
	StatementType.MERGE_INTO,
	StatementType.CREATE,
	StatementType.ALTER,
	StatementType.DROP,
	StatementType.CALL,
	StatementType.SET,
	StatementType.VARIABLE_SET,
	StatementType.ANALYZE,
	StatementType.VACUUM,
]);

const TRANSACTION = 'BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction. Remove them';
const WRITES_FILES = 'it can write over the open database and its WAL. Read files with read_csv()/read_parquet()/read_json() inside INSERT or CREATE TABLE AS instead';
const UNCHECKED = 'the checks every statement of the script gets (a COPY over the database\'s WAL, or a COMMIT in the middle of the script, would get through)';
const WRITE_IT_OUT = 'Write the statement itself in the script (SET VARIABLE and getvariable() can stand in for parameters)';

/** Why a statement type is refused, and what to do instead: [what it is, reason and remedy]. */
const REFUSED = new Map<StatementType, [string, string]>([
	[StatementType.COPY, ['COPY', WRITES_FILES]],
	[StatementType.EXPORT, ['EXPORT DATABASE', WRITES_FILES]],
	[StatementType.COPY_DATABASE, ['COPY FROM DATABASE', WRITES_FILES]],
	[StatementType.ATTACH, ['ATTACH', WRITES_FILES]],
	[StatementType.DETACH, ['DETACH', WRITES_FILES]],
	[StatementType.PREPARE, ['PREPARE', `the statement it prepares would run (by EXECUTE) without ${UNCHECKED}. ${WRITE_IT_OUT}`]],
	[StatementType.EXECUTE, ['EXECUTE', `a prepared statement runs without ${UNCHECKED}. ${WRITE_IT_OUT}`]],
	[StatementType.EXPLAIN, ['EXPLAIN', `EXPLAIN ANALYZE runs the statement it explains without ${UNCHECKED}; plain EXPLAIN cannot be told apart from it before it runs, so both are refused. Run the query itself, or explain it in the DuckDB CLI on a copy of the database`]],
	[StatementType.LOAD, ['INSTALL/LOAD', 'extensions run native code outside the sandbox. Use DuckDB\'s built-in functions (read_csv, read_parquet and read_json are built in)']],
	[StatementType.EXTENSION, ['this extension statement', 'extensions run native code outside the sandbox. Use DuckDB\'s built-in functions']],
	[StatementType.UPDATE_EXTENSIONS, ['UPDATE EXTENSIONS', 'extensions run native code outside the sandbox, and updating them downloads and writes files']],
	[StatementType.PRAGMA, ['this PRAGMA', 'it changes a setting (profiling, checkpointing, the optimizer…) past the sandbox\'s locked configuration. PRAGMAs that return information work: table_info, show_tables, database_size, storage_info, version']],
]);

/** Throws when the prepared (not yet run) statement is not one a script may contain. */
function refuse(prepared: DuckDBPreparedStatement): void {
	const type = prepared.statementType;
	if (ALLOWED.has(type)) return;
	if (type === StatementType.TRANSACTION) throw new Error(TRANSACTION);
	const [what, why] = REFUSED.get(type) ?? [
		`a ${StatementType[type] ?? `type ${type}`} statement`,
		'Run SQL runs queries, INSERT, UPDATE, DELETE, MERGE, CREATE, ALTER, DROP, CALL, SET, ANALYZE and VACUUM only',
	];
	throw new Error(`${what} is not allowed in Run SQL: ${why}`);
}

/** Runs a statement whose rows nobody asked for, reading them to the end (so an error in a late chunk still fails). */
async function drain(prepared: DuckDBPreparedStatement): Promise<number> {
	const result = await prepared.stream();
	if (result.returnType === ResultReturnType.CHANGED_ROWS) return Number(result.rowsChanged);
	for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
		// Rows are discarded; only errors matter.
	}
	return 0;
}

export async function runScript(connection: DuckDBConnection, spec: ResolvedSql, control: WorkerControl): Promise<SqlReport> {
	const report: SqlReport = { statements: 0, statementsRun: 0, rowsChanged: 0 };
	let extracted;
	try {
		extracted = await connection.extractStatements(spec.sql);
	} catch (error) {
		report.error = `the SQL does not parse: ${messageOf(error).replace(/^Failed to extract statements: /, '')}`;
		return report;
	}
	report.statements = extracted.count;
	await connection.run('BEGIN TRANSACTION');
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
					report.rows = reader.getRowObjectsJS().slice(0, spec.rowLimit).map((row) => jsonSafe(row) as Record<string, unknown>);
					report.columns = reader.columnNames();
					report.rowsTruncated = reader.currentRowCount > spec.rowLimit;
				} else report.rowsChanged += Number(reader.rowsChanged);
			} else {
				report.rowsChanged += await drain(prepared);
			}
			report.statementsRun++;
			control.progress(`statement ${index + 1}/${extracted.count} done`);
		}
		// A stop now must not interrupt the COMMIT: it would throw while the data is committed all the same.
		await control.committing(() => connection.run('COMMIT'));
		report.committed = true;
	} catch (error) {
		await connection.run('ROLLBACK').catch(() => undefined);
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
