/** Why Run SQL refuses a statement or a call, and what to do instead: the messages people read. */

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

export const refusal = ([what, why]: [string, string]): string => `${what} is not allowed in Run SQL: ${why}`;
