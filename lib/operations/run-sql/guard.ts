/**
 * Run SQL's statement guard: which statements and which table functions a script may contain, decided from the
 * script's text before DuckDB prepares any of it. Preparing is not harmless (DuckDB 1.5.6 creates EXPORT DATABASE's
 * folder while preparing it, even at '<database>.wal', after which the database no longer opens), and some table
 * functions write files that the locked configuration does not protect (enable_profiling(save_location => …)
 * empties an existing file, enable_logging(storage_path => …) appends to CSV files). Deny by default: a statement
 * runs only if it starts with an allowed keyword; a built-in table or pragma function runs only if it is on a list of
 * functions known to only read (within allowed_directories).
 *
 * Pure: the caller gives DuckDB's statement count and the names of the built-in table/pragma functions, and a
 * script whose statements the tokenizer (sql-lexer.ts) cannot split exactly as DuckDB does is refused.
 */
import { splitStatements, UncheckableSql, type Token } from './lexer';

export const TRANSACTION =
	'BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction. Remove them';
export const WRITES_FILES =
	'it can write over the open database and its WAL. Read files with read_csv()/read_parquet()/read_json() inside INSERT or CREATE TABLE AS instead';
export const UNCHECKED =
	"the checks every statement of the script gets (a COPY over the database's WAL, or a COMMIT in the middle of the script, would get through)";
export const WRITE_IT_OUT =
	'Write the statement itself in the script (SET VARIABLE and getvariable() can stand in for parameters)';
export const ONLY =
	'Run SQL runs queries (SELECT, WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE, PIVOT), INSERT, UPDATE, DELETE, MERGE, CREATE, ALTER, DROP, COMMENT, CALL, SET, RESET, USE, ANALYZE, VACUUM and informational PRAGMAs only';
const EXTENSIONS = 'extensions run native code outside the sandbox';

/** Why a kind of statement is refused, and what to do instead: [what it is, reason and remedy]. */
export const WHY = {
	copy: ['COPY', WRITES_FILES],
	copyDatabase: ['COPY FROM DATABASE', WRITES_FILES],
	export: ['EXPORT DATABASE', WRITES_FILES],
	import: [
		'IMPORT DATABASE',
		`it runs the SQL files of an exported database without ${UNCHECKED}. Read the exported files with read_csv()/read_parquet() inside INSERT or CREATE TABLE AS instead`,
	],
	attach: ['ATTACH', WRITES_FILES],
	detach: ['DETACH', WRITES_FILES],
	prepare: ['PREPARE', `the statement it prepares would run (by EXECUTE) without ${UNCHECKED}. ${WRITE_IT_OUT}`],
	execute: ['EXECUTE', `a prepared statement runs without ${UNCHECKED}. ${WRITE_IT_OUT}`],
	deallocate: ['DEALLOCATE', `prepared statements are refused (they would run without ${UNCHECKED}). ${WRITE_IT_OUT}`],
	explain: [
		'EXPLAIN',
		`EXPLAIN ANALYZE runs the statement it explains without ${UNCHECKED}; plain EXPLAIN cannot be told apart from it before it runs, so both are refused. Run the query itself, or explain it in the DuckDB CLI on a copy of the database`,
	],
	load: [
		'INSTALL/LOAD',
		`${EXTENSIONS}. Use DuckDB's built-in functions (read_csv, read_parquet and read_json are built in)`,
	],
	extension: ['this extension statement', `${EXTENSIONS}. Use DuckDB's built-in functions`],
	updateExtensions: ['UPDATE EXTENSIONS', `${EXTENSIONS}, and updating them downloads and writes files`],
	pragma: [
		'this PRAGMA',
		"it changes a setting (profiling, checkpointing, the optimizer…) past the sandbox's locked configuration. PRAGMAs that return information work: table_info, show_tables, database_size, storage_info, version",
	],
	checkpoint: [
		'CHECKPOINT',
		"it writes the database file apart from the script's transaction; DuckDB checkpoints by itself after the script commits. Remove it",
	],
	secret: [
		'CREATE SECRET',
		'secrets hold credentials for remote storage, which the sandbox does not reach, and a persistent one is a file written under ~/.duckdb, outside the allowed folders. Read files from the allowed folders instead',
	],
	dropSecret: [
		'DROP SECRET',
		'a persistent secret is a file under ~/.duckdb, outside the allowed folders. Manage secrets outside Run SQL',
	],
} satisfies Record<string, [string, string]>;

const refusal = ([what, why]: [string, string]): string => `${what} is not allowed in Run SQL: ${why}`;

/** First words of the statements that run (the rest of them is checked for calls). COMMENT ON arrives as ALTER. */
const ALLOWED_STARTS = new Set([
	'select',
	'with',
	'from',
	'values',
	'table',
	'insert',
	'delete',
	'merge',
	'alter',
	'call',
	'set',
	'reset',
	'use',
	'analyze',
	'vacuum',
	'describe',
	'show',
	'summarize',
	'pivot',
	'unpivot',
	'comment',
]);
const TRANSACTION_WORDS = new Set(['begin', 'start', 'commit', 'end', 'rollback', 'abort']);
const REFUSED_STARTS: Record<string, [string, string]> = {
	export: WHY.export,
	import: WHY.import,
	attach: WHY.attach,
	detach: WHY.detach,
	install: WHY.load,
	load: WHY.load,
	prepare: WHY.prepare,
	execute: WHY.execute,
	deallocate: WHY.deallocate,
	explain: WHY.explain,
	checkpoint: WHY.checkpoint,
};
/** PRAGMAs that only return information (DuckDB expands them into queries). */
const INFORMATIONAL_PRAGMAS = new Set([
	'table_info',
	'storage_info',
	'show_tables',
	'show_tables_expanded',
	'show_databases',
	'database_size',
	'database_list',
	'version',
	'platform',
	'user_agent',
	'collations',
	'show',
	'metadata_info',
	'functions',
]);
/** What CREATE and DROP may make or remove (CREATE FUNCTION is CREATE MACRO). */
const OBJECTS = new Set(['table', 'view', 'macro', 'function', 'sequence', 'schema', 'index', 'type']);
const CREATE_MODIFIERS = new Set(['or', 'replace', 'temp', 'temporary', 'unique']);
const OBJECT_LIST = 'tables, views, macros (functions), sequences, schemas, indexes and types';

const isWord = (token: Token | undefined, ...values: string[]): token is Token =>
	token?.kind === 'word' && (values.length === 0 || values.includes(token.value));
const isName = (token: Token | undefined): boolean => token?.kind === 'word' || token?.kind === 'quoted';

function describe(token: Token | undefined): string {
	if (!token) return 'nothing';
	if (token.kind === 'word') return token.value.toUpperCase();
	if (token.kind === 'quoted') return `"${token.value}"`;
	return token.kind === 'string' ? `'${token.value}'` : token.value;
}

function refuseCreate(tokens: Token[]): string | undefined {
	let at = 1;
	while (isWord(tokens[at]) && CREATE_MODIFIERS.has(tokens[at].value)) at++;
	if (isWord(tokens[at]) && OBJECTS.has(tokens[at].value)) return undefined;
	if (isWord(tokens[at], 'persistent', 'secret')) return refusal(WHY.secret);
	return refusal([`CREATE ${describe(tokens[at])}`, `Run SQL creates ${OBJECT_LIST} only`]);
}

function refuseDrop(tokens: Token[]): string | undefined {
	if (isWord(tokens[1]) && OBJECTS.has(tokens[1].value)) return undefined;
	if (isWord(tokens[1], 'persistent', 'temporary', 'temp', 'secret')) return refusal(WHY.dropSecret);
	return refusal([`DROP ${describe(tokens[1])}`, `Run SQL drops ${OBJECT_LIST} only`]);
}

/** UPDATE EXTENSIONS [(name, …)]; a table named extensions is followed by SET, an alias or a dot. */
function refuseUpdate(tokens: Token[]): string | undefined {
	if (!isWord(tokens[1], 'extensions')) return undefined;
	return isName(tokens[2]) || tokens[2]?.value === '.' ? undefined : refusal(WHY.updateExtensions);
}

function refusePragma(tokens: Token[]): string | undefined {
	const informational =
		isWord(tokens[1]) &&
		INFORMATIONAL_PRAGMAS.has(tokens[1].value) &&
		(tokens.length === 2 || (tokens[2].kind === 'punct' && tokens[2].value === '('));
	return informational ? undefined : refusal(WHY.pragma);
}

function refuseCopy(tokens: Token[]): string {
	return refusal(isWord(tokens[1], 'from') && isWord(tokens[2], 'database') ? WHY.copyDatabase : WHY.copy);
}

function refuseForce(tokens: Token[]): string {
	return refusal(isWord(tokens[1], 'checkpoint') ? WHY.checkpoint : WHY.load);
}

const STATEMENT_CHECKS: Record<string, (tokens: Token[]) => string | undefined> = {
	create: refuseCreate,
	drop: refuseDrop,
	update: refuseUpdate,
	pragma: refusePragma,
	copy: refuseCopy,
	force: refuseForce,
};

/** Why the statement may not run, judged by its first words; undefined when it may. */
export function refuseStatement(tokens: Token[]): string | undefined {
	const [first] = tokens;
	if (first.kind === 'punct' && first.value === '(') return undefined;
	if (first.kind !== 'word') return refusal([`a statement starting with ${describe(first)}`, ONLY]);
	if (ALLOWED_STARTS.has(first.value)) return undefined;
	if (TRANSACTION_WORDS.has(first.value)) return TRANSACTION;
	const check = STATEMENT_CHECKS[first.value];
	if (check) return check(tokens);
	return refusal(REFUSED_STARTS[first.value] ?? [`a statement starting with ${describe(first)}`, ONLY]);
}

/**
 * The built-in table and pragma functions a script may call: they only read, and only what allowed_directories
 * lets them. Every other built-in table, table-macro or pragma function is refused, and new ones in a later DuckDB
 * are refused until added here. Scalar functions stay allowed as a class: none of DuckDB 1.5.6's writes files
 * (checked by name), and write_log() writes to DuckDB's logger, which keeps its lines in memory unless logging is
 * pointed at a file: enable_logging() is refused below, and SET logging_storage / enable_logging / log_query_path
 * are refused by the locked configuration ("Cannot change configuration option … - the configuration has been
 * locked", checked with 1.5.6; test/attack/sql-held.attack.test.ts). User macros (not built in) stay allowed: the
 * guard checked their bodies when Run SQL created them.
 */
export const READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set([
	'read_csv',
	'read_csv_auto',
	'read_parquet',
	'parquet_scan',
	'parquet_metadata',
	'parquet_file_metadata',
	'parquet_kv_metadata',
	'parquet_schema',
	'read_json',
	'read_json_auto',
	'read_json_objects',
	'read_json_objects_auto',
	'read_ndjson',
	'read_ndjson_auto',
	'read_ndjson_objects',
	'read_text',
	'read_blob',
	'glob',
	'sniff_csv',
	'range',
	'generate_series',
	'unnest',
	'repeat',
	'repeat_row',
	'json_each',
	'json_tree',
	'summary',
	'histogram',
	'histogram_values',
	// The catalog, without duckdb_secrets and the logs (duckdb_logs, duckdb_logs_parsed, duckdb_log_contexts).
	'duckdb_approx_database_count',
	'duckdb_columns',
	'duckdb_connection_count',
	'duckdb_constraints',
	'duckdb_coordinate_systems',
	'duckdb_databases',
	'duckdb_dependencies',
	'duckdb_extensions',
	'duckdb_external_file_cache',
	'duckdb_functions',
	'duckdb_indexes',
	'duckdb_keywords',
	'duckdb_memory',
	'duckdb_optimizers',
	'duckdb_prepared_statements',
	'duckdb_profiling_settings',
	'duckdb_schemas',
	'duckdb_secret_types',
	'duckdb_sequences',
	'duckdb_settings',
	'duckdb_table_sample',
	'duckdb_tables',
	'duckdb_temporary_files',
	'duckdb_types',
	'duckdb_variables',
	'duckdb_views',
	'pragma_collations',
	'pragma_database_size',
	'pragma_metadata_info',
	'pragma_platform',
	'pragma_show',
	'pragma_storage_info',
	'pragma_table_info',
	'pragma_user_agent',
	'pragma_version',
	...INFORMATIONAL_PRAGMAS,
	'pg_timezone_names',
	'icu_calendar_names',
]);
const DYNAMIC_SQL = new Set(['query', 'query_table', 'json_execute_serialized_sql']);

function callRefusal(name: string): string {
	const why = DYNAMIC_SQL.has(name)
		? `it runs SQL given as a string, without ${UNCHECKED}. ${WRITE_IT_OUT}`
		: /^(enable|disable)_/.test(name)
			? "it changes how DuckDB profiles, logs, checkpoints or parses, past the sandbox's locked configuration, and some of these write files (enable_profiling(save_location => …) and enable_logging(storage_path => …) write over or append to files in the allowed folders, the database's included). Profile queries in the DuckDB CLI on a copy of the database"
			: 'it is not one of the built-in table functions Run SQL knows to only read (read_csv, read_parquet, read_json, read_text, read_blob, glob, range, unnest, the duckdb_* and pragma_* catalog functions…). A table or column of that name must not be followed by (';
	return `${name}() is not allowed in Run SQL: ${why}`;
}

/**
 * Every name followed by "(" is a call for this check (keywords and types too: VALUES (, DECIMAL( are not built-in
 * table functions), quoted or not, and the last part of a dotted name (main.enable_profiling). Comments between the
 * name and "(" are no tokens, so they hide nothing.
 */
export function refuseCalls(tokens: Token[], builtins: ReadonlySet<string>): string | undefined {
	for (let at = 0; at + 1 < tokens.length; at++) {
		const { kind, value } = tokens[at];
		const called =
			(kind === 'word' || kind === 'quoted') && tokens[at + 1].kind === 'punct' && tokens[at + 1].value === '(';
		if (called && builtins.has(value) && !READ_ONLY_FUNCTIONS.has(value)) return callRefusal(value);
	}
	return undefined;
}

function splitDiffers(statements: Token[][], duckdbCount: number): string {
	const pivot = statements.some((tokens) => tokens.some((token) => isWord(token, 'pivot')));
	const remedy = pivot
		? "A PIVOT without an IN list becomes several statements in DuckDB: list the values (PIVOT t ON col IN ('a', 'b') USING …)"
		: "Write strings as '…' (double a ' inside) and comments as -- … or /* … */";
	return `the script cannot be checked safely: DuckDB reads ${duckdbCount} statements in it where Run SQL's check reads ${statements.length}. ${remedy}`;
}

export interface GuardRefusal {
	/** 1-based; absent when the script as a whole cannot be checked. */
	statement?: number;
	message: string;
}

/** Why the script may not run, before DuckDB prepares any of it; undefined when every statement may run. */
export function checkScript(sql: string, duckdbCount: number, builtins: ReadonlySet<string>): GuardRefusal | undefined {
	let statements: Token[][];
	try {
		statements = splitStatements(sql);
	} catch (error) {
		if (error instanceof UncheckableSql) return { statement: error.statement, message: error.message };
		throw error;
	}
	if (statements.length !== duckdbCount) return { message: splitDiffers(statements, duckdbCount) };
	for (const [index, tokens] of statements.entries()) {
		const message = refuseStatement(tokens) ?? refuseCalls(tokens, builtins);
		if (message) return { statement: index + 1, message };
	}
	return undefined;
}
