/**
 * Which built-in table and pragma functions a Run SQL script may call: only those known to only read (within
 * allowed_directories). Deny by default: a function added in a later DuckDB is refused until it is listed here.
 */
import type { Token } from './lexer';
import { UNCHECKED, WRITE_IT_OUT } from './refusals';

/** PRAGMAs that only return information (DuckDB expands them into queries). */
export const INFORMATIONAL_PRAGMAS = new Set([
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
