/**
 * The statement guard's pure parts, without DuckDB: the tokenizer (quoting, comments, what it refuses to guess),
 * the classification by first words, and the call check against a given set of built-in table functions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitStatements, UncheckableSql, type Token } from '../../../lib/operations/run-sql/lexer';
import { checkScript, refuseStatement } from '../../../lib/operations/run-sql/guard';
import { refuseCalls } from '../../../lib/operations/run-sql/functions';

const words = (sql: string): string[][] =>
	splitStatements(sql).map((tokens) => tokens.map((token) => `${token.kind}:${token.value}`));
const BUILTINS = new Set([
	'enable_profiling',
	'enable_logging',
	'query',
	'read_csv',
	'range',
	'table_info',
	'checkpoint',
]);
const statement = (sql: string): Token[] => splitStatements(sql)[0];

function assertUncheckable(sql: string, number: number, found: RegExp): void {
	assert.throws(
		() => splitStatements(sql),
		(error: unknown) => {
			assert.ok(error instanceof UncheckableSql, String(error));
			assert.equal(error.statement, number, sql);
			assert.match(error.message, /^the script cannot be checked safely: it has /);
			assert.match(error.message, found, sql);
			return true;
		},
		sql,
	);
}

test('strings and quoted names hide ; -- /* and calls; a doubled quote stands for one', () => {
	assert.deepEqual(words(`SELECT 'a'';--/*enable_profiling(' AS "x""; y" FROM t; SELECT 2`), [
		['word:select', "string:a';--/*enable_profiling(", 'word:as', 'quoted:x"; y', 'word:from', 'word:t'],
		['word:select', 'number:2'],
	]);
	assert.deepEqual(words(`SELECT '' || ''''`), [['word:select', 'string:', 'punct:|', 'punct:|', "string:'"]]);
});

test('-- comments end at a newline or a carriage return (as in DuckDB); /* comments at the first */', () => {
	assert.deepEqual(words('SELECT 1 -- ; CALL x()\n; SELECT 2 -- c\rAS y'), [
		['word:select', 'number:1'],
		['word:select', 'number:2', 'word:as', 'word:y'],
	]);
	assert.deepEqual(words('SELECT /* ; */ 1 /**/; /*/ still a comment ; */ SELECT /***/ 2 */'), [
		['word:select', 'number:1'],
		['word:select', 'number:2', 'punct:*', 'punct:/'],
	]);
	assert.deepEqual(words('SELECT 2*/*c*/3, 4--5\n'), [
		['word:select', 'number:2', 'punct:*', 'number:3', 'punct:,', 'number:4'],
	]);
});

test('names are lower-cased like DuckDB compares them (ASCII only); quoted names too; non-ASCII letters belong to names', () => {
	assert.deepEqual(words('SeLeCt "ENABLE_Profiling", Ünïcode_1, é(1)'), [
		[
			'word:select',
			'quoted:enable_profiling',
			'punct:,',
			'word:Ünïcode_1',
			'punct:,',
			'word:é',
			'punct:(',
			'number:1',
			'punct:)',
		],
	]);
});

test('Unicode spaces DuckDB turns into spaces separate names here too, so "name\\u00a0(" is a call', () => {
	for (const space of ['\u00a0', '\u2003', '\u200b', '\u202f', '\u205f', '\u2060', '\u3000', '\ufeff', '\f', '\v']) {
		assert.deepEqual(
			words(`SELECT * FROM enable_profiling${space}()`),
			[['word:select', 'punct:*', 'word:from', 'word:enable_profiling', 'punct:(', 'punct:)']],
			JSON.stringify(space),
		);
	}
});

test("numbers: an exponent needs digits, so 1e'…' is 1 then an E string (refused)", () => {
	assert.deepEqual(words('SELECT 1_000, 1.5e-3, .5, 2.'), [
		['word:select', 'number:1_000', 'punct:,', 'number:1.5e-3', 'punct:,', 'number:.5', 'punct:,', 'number:2.'],
	]);
	assertUncheckable("SELECT 1e'x'", 1, /E'…' string/);
});

test('empty statements are dropped, as DuckDB does', () => {
	assert.equal(splitStatements('SELECT 1;; ; -- only a comment\n;/* and another */;SELECT 2;').length, 2);
	assert.equal(splitStatements('-- nothing but a comment').length, 0);
});

test('forms whose end DuckDB finds elsewhere are refused, with the statement they are in', () => {
	assertUncheckable("SELECT 1; SELECT E'\\''", 2, /an E'…' string .*Write it as a plain '…' string/);
	assertUncheckable("SELECT e'x'", 1, /E'…' string/);
	assertUncheckable('SELECT 1; SELECT 2; SELECT $$;$$', 3, /a \$ outside a string/);
	assertUncheckable('SELECT $tag$ x $tag$', 1, /\$tag\$/);
	assertUncheckable('SELECT $1', 1, /\$1 parameter/);
	assertUncheckable('SELECT a$b FROM t', 1, /a name with \$/);
	assertUncheckable('SELECT /* outer /* inner */ */ 1', 1, /a \/\* comment inside a \/\* comment .*Remove the inner/);
	assertUncheckable('SELECT /*/* x */ */ 1', 1, /comment inside/);
	assertUncheckable("SELECT U&'d\\0061t'", 1, /U&'…' or U&"…"/);
	assertUncheckable('SELECT u&"d\\0061t"', 1, /U&/);
	assertUncheckable('SELECT 1\0', 1, /a NUL character/);
	// Not these: E inside a longer name, U& not followed by a quote, a letter string prefix DuckDB reads like ours.
	assert.deepEqual(words("SELECT be'x', u&1, x'ff', b'01', n'x'"), [
		[
			'word:select',
			'word:be',
			'string:x',
			'punct:,',
			'word:u',
			'punct:&',
			'number:1',
			'punct:,',
			'word:x',
			'string:ff',
			'punct:,',
			'word:b',
			'string:01',
			'punct:,',
			'word:n',
			'string:x',
		],
	]);
});

test('unterminated strings, names and comments are refused', () => {
	assertUncheckable("SELECT 'open", 1, /an unterminated '…' string/);
	assertUncheckable("SELECT 1; SELECT 'it''s", 2, /unterminated '…' string/);
	assertUncheckable('SELECT "open', 1, /an unterminated "…" name/);
	assertUncheckable('SELECT 1 /* open', 1, /an unterminated \/\* comment/);
});

test('statements run only when they start with an allowed keyword', () => {
	const allowed = [
		'SELECT 1',
		'with x as (select 1) select * from x',
		'FROM t',
		'VALUES (1)',
		'TABLE t',
		'(SELECT 1)',
		'INSERT INTO t VALUES (1)',
		'UPDATE t SET a = 1',
		'DELETE FROM t',
		'MERGE INTO t USING s ON t.i = s.i WHEN MATCHED THEN DELETE',
		'CREATE TABLE t (i INTEGER)',
		'CREATE OR REPLACE TEMP MACRO m() AS 1',
		'CREATE UNIQUE INDEX i ON t (a)',
		'create function f(x) as x',
		'ALTER TABLE t ADD COLUMN b INTEGER',
		'DROP TABLE t',
		'DROP MACRO TABLE m',
		'CALL range(3)',
		'SET VARIABLE v = 1',
		'RESET VARIABLE v',
		'USE main',
		'ANALYZE',
		'VACUUM t',
		'DESCRIBE t',
		'SHOW TABLES',
		'SUMMARIZE t',
		'PIVOT t ON a IN (1) USING sum(b)',
		'UNPIVOT t ON a INTO NAME k VALUE v',
		"COMMENT ON TABLE t IS 'x'",
		"PRAGMA table_info('t')",
		'pragma version',
		'PRAGMA show_tables',
		'UPDATE extensions SET a = 1',
		'UPDATE extensions AS e SET a = 1',
		'UPDATE extensions.t SET a = 1',
		'UPDATE "extensions" SET a = 1',
	];
	for (const sql of allowed) assert.equal(refuseStatement(statement(sql)), undefined, sql);
});

test('every other statement is refused by its first words, saying why and what to do instead', () => {
	const refused: Array<[string, RegExp]> = [
		[
			"COPY t TO 'x.csv'",
			/^COPY is not allowed in Run SQL: it can write over the open database and its WAL\. Read files with read_csv/,
		],
		['COPY FROM DATABASE a TO b', /^COPY FROM DATABASE is not allowed/],
		["EXPORT DATABASE 'x'", /^EXPORT DATABASE is not allowed in Run SQL: it can write over/],
		[
			"IMPORT DATABASE 'x'",
			/^IMPORT DATABASE is not allowed in Run SQL: it runs the SQL files of an exported database/,
		],
		["ATTACH 'x.db'", /^ATTACH is not allowed/],
		['DETACH x', /^DETACH is not allowed/],
		['INSTALL httpfs', /^INSTALL\/LOAD is not allowed in Run SQL: extensions run native code/],
		['LOAD json', /^INSTALL\/LOAD/],
		['FORCE INSTALL x', /^INSTALL\/LOAD/],
		['PREPARE p AS SELECT 1', /^PREPARE is not allowed in Run SQL: .*Write the statement itself/],
		['EXECUTE p', /^EXECUTE is not allowed/],
		['DEALLOCATE p', /^DEALLOCATE is not allowed/],
		['EXPLAIN SELECT 1', /^EXPLAIN is not allowed in Run SQL: EXPLAIN ANALYZE runs/],
		['explain analyze select 1', /^EXPLAIN is not allowed/],
		['CHECKPOINT', /^CHECKPOINT is not allowed in Run SQL: .*Remove it/],
		['FORCE CHECKPOINT', /^CHECKPOINT is not allowed/],
		[
			'PRAGMA enable_profiling',
			/^this PRAGMA is not allowed in Run SQL: it changes a setting .*PRAGMAs that return information work: table_info/,
		],
		['PRAGMA threads = 1', /^this PRAGMA/],
		['PRAGMA version = 1', /^this PRAGMA/],
		["PRAGMA import_database('x')", /^this PRAGMA/],
		['UPDATE EXTENSIONS', /^UPDATE EXTENSIONS is not allowed in Run SQL: extensions run native code/],
		['update extensions (json)', /^UPDATE EXTENSIONS/],
		['CREATE SECRET s (TYPE s3)', /^CREATE SECRET is not allowed in Run SQL: secrets hold credentials .*~\/\.duckdb/],
		['CREATE PERSISTENT SECRET s (TYPE s3)', /^CREATE SECRET/],
		['CREATE OR REPLACE PERSISTENT SECRET s (TYPE s3)', /^CREATE SECRET/],
		['CREATE TEMPORARY SECRET s (TYPE s3)', /^CREATE SECRET/],
		['CREATE DATABASE d', /^CREATE DATABASE is not allowed in Run SQL: Run SQL creates tables, views/],
		['DROP SECRET s', /^DROP SECRET is not allowed/],
		['DROP PERSISTENT SECRET s', /^DROP SECRET/],
		['DROP DATABASE d', /^DROP DATABASE is not allowed in Run SQL: Run SQL drops tables/],
		['BEGIN', /^BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction/],
		['START TRANSACTION', /^BEGIN, COMMIT/],
		['COMMIT', /^BEGIN, COMMIT/],
		['END', /^BEGIN, COMMIT/],
		['ROLLBACK', /^BEGIN, COMMIT/],
		['ABORT', /^BEGIN, COMMIT/],
		['SAVEPOINT s', /^a statement starting with SAVEPOINT is not allowed in Run SQL: Run SQL runs queries \(SELECT/],
		['"select" 1', /^a statement starting with "select" is not allowed/],
		["'x.csv'", /^a statement starting with 'x\.csv' is not allowed/],
	];
	for (const [sql, message] of refused) assert.match(refuseStatement(statement(sql)) ?? 'allowed', message, sql);
});

test('a built-in table function not known to only read is refused wherever a name is followed by (', () => {
	const refused: Array<[string, string]> = [
		["SELECT * FROM enable_profiling(save_location => 'x')", 'enable_profiling'],
		['CALL ENABLE_LOGGING()', 'enable_logging'],
		['SELECT * FROM "Enable_Profiling"()', 'enable_profiling'],
		['SELECT * FROM main.enable_profiling /* c */ -- c\n ()', 'enable_profiling'],
		['SELECT * FROM system."main"."enable_profiling"()', 'enable_profiling'],
		["CREATE VIEW v AS SELECT (SELECT 1 FROM query('x'))", 'query'],
		['CREATE MACRO m() AS TABLE FROM checkpoint()', 'checkpoint'],
		['CREATE TABLE checkpoint (i INTEGER)', 'checkpoint'],
	];
	for (const [sql, name] of refused)
		assert.match(
			refuseCalls(statement(sql), BUILTINS) ?? 'allowed',
			new RegExp(`^${name}\\(\\) is not allowed in Run SQL: `),
			sql,
		);
	assert.match(refuseCalls(statement("FROM query('SELECT 1')"), BUILTINS) ?? '', /it runs SQL given as a string/);
	assert.match(
		refuseCalls(statement('CALL enable_logging()'), BUILTINS) ?? '',
		/write over or append to files in the allowed folders/,
	);
	assert.match(
		refuseCalls(statement('CALL checkpoint()'), BUILTINS) ?? '',
		/not one of the built-in table functions Run SQL knows to only read/,
	);
	const allowed = [
		"SELECT * FROM read_csv('x.csv')",
		'CALL range(3)',
		"PRAGMA table_info('t')",
		"SELECT 'enable_profiling()'",
		'SELECT enable_profiling FROM t',
		'SELECT "query" FROM t',
		'INSERT INTO t (query) VALUES (1)',
		'SELECT my_macro(1), upper(x), CAST(1 AS DECIMAL(18, 2))',
		'SELECT * FROM enable_profiling',
	];
	for (const sql of allowed) assert.equal(refuseCalls(statement(sql), BUILTINS), undefined, sql);
});

test("checkScript: the first refusal by statement number; a split that differs from DuckDB's is refused as a whole", () => {
	assert.equal(
		checkScript("CREATE TABLE t (i INTEGER); INSERT INTO t SELECT * FROM read_csv('x.csv')", 2, BUILTINS),
		undefined,
	);
	assert.deepEqual(checkScript("SELECT 1; CALL enable_profiling(); COPY t TO 'x'", 3, BUILTINS)?.statement, 2);
	assert.deepEqual(checkScript("SELECT 1; SELECT 2; COPY t TO 'x'", 3, BUILTINS)?.statement, 3);
	assert.deepEqual(checkScript('SELECT 1; SELECT $$x$$', 2, BUILTINS)?.statement, 2);
	const differs = checkScript('SELECT 1; SELECT 2', 1, BUILTINS);
	assert.equal(differs?.statement, undefined);
	assert.match(
		differs?.message ?? '',
		/^the script cannot be checked safely: DuckDB reads 1 statements in it where Run SQL's check reads 2\. Write strings as '…'/,
	);
	assert.match(
		checkScript('CREATE TABLE t (a VARCHAR); PIVOT t ON a USING count(*)', 3, BUILTINS)?.message ?? '',
		/A PIVOT without an IN list becomes several statements in DuckDB: list the values/,
	);
});
