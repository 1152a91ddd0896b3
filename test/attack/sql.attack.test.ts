/**
 * Attacks on Run SQL that got through before the statement guard (findings 5 and 6), with real databases and real
 * worker processes: each is refused before DuckDB prepares anything, leaves every file byte-identical and the
 * database opening afterwards. Also: scripts the guard cannot check are refused, and ordinary scripts still run.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopAll, tempDir } from '../helpers/processes';
import { assertRefused, fingerprint, snapshot, sql, sqlWorkspace, type SqlWorkspace } from '../helpers/sql';

const dir = tempDir();
let n = 0;
afterEach(() => stopAll());
after(() => dir.remove());

const workspace = (): Promise<SqlWorkspace> => sqlWorkspace(dir.path, `a${++n}`);
const EXPORT_REFUSED = /^EXPORT DATABASE is not allowed in Run SQL: it can write over the open database and its WAL/;
const refusedCall = (name: string): RegExp => new RegExp(`^${name}\\(\\) is not allowed in Run SQL: `);
/** Then a statement that runs: DuckDB writes a profile when the next statement ends, and a log line per query. */
const THEN = '; SELECT count(*) FROM kept';

async function assertExportRefused(target: (ws: SqlWorkspace) => string): Promise<void> {
	const ws = await workspace();
	const path = target(ws);
	await assertRefused(ws, `INSERT INTO kept VALUES (3); EXPORT DATABASE '${path}'`, {
		statement: 2,
		message: EXPORT_REFUSED,
	});
	assert.equal(existsSync(path), false, `nothing at ${path}`);
}

test("finding 5: EXPORT DATABASE to <db>.wal is refused before it is prepared: no folder at the WAL's path, and the database opens afterwards", async () => {
	await assertExportRefused((ws) => `${ws.db}.wal`);
});

test("finding 5: EXPORT DATABASE to <db>.pid.recover (the lock's recovery claim) is refused: nothing created there, and the next run takes the lock", async () => {
	await assertExportRefused((ws) => `${ws.db}.pid.recover`);
});

test('finding 5: EXPORT DATABASE to a new folder inside the allowed folder is refused: the folder is not created', async () => {
	await assertExportRefused((ws) => join(ws.root, 'export'));
});

/** A file-writing function call, run through Run SQL: refused at `statement`, and both existing files byte-identical. */
async function assertWriterRefused(
	script: (ws: SqlWorkspace) => string,
	statement: number,
	name = 'enable_profiling',
): Promise<void> {
	const ws = await workspace();
	const before = [fingerprint(ws.json), fingerprint(ws.csv)];
	await assertRefused(ws, script(ws), { statement, message: refusedCall(name) });
	assert.deepEqual(
		[fingerprint(ws.json), fingerprint(ws.csv)],
		before,
		'the existing profile and CSV are byte-identical',
	);
}

const profileTo = (ws: SqlWorkspace): string => `format => 'json', save_location => '${ws.json}'`;

test('finding 6: SELECT * FROM enable_profiling(save_location => an existing file) is refused; the file stays byte-identical', async () => {
	await assertWriterRefused((ws) => `SELECT * FROM enable_profiling(${profileTo(ws)})${THEN}`, 1);
});

test('finding 6: CALL enable_profiling(save_location => an existing file) is refused; the file stays byte-identical', async () => {
	await assertWriterRefused((ws) => `INSERT INTO kept VALUES (3); CALL enable_profiling(${profileTo(ws)})${THEN}`, 2);
});

test("finding 6: CALL enable_logging(storage => 'file', storage_path => an existing CSV) is refused; the CSV (an ingest source) stays byte-identical", async () => {
	await assertWriterRefused(
		(ws) =>
			`CALL enable_logging(storage => 'file', storage_path => '${ws.csv}'); SELECT write_log('x', level := 'error')${THEN}`,
		1,
		'enable_logging',
	);
});

test('finding 6: a quoted "enable_profiling"(…) is refused', async () => {
	await assertWriterRefused((ws) => `SELECT * FROM "enable_profiling"(${profileTo(ws)})${THEN}`, 1);
});

test('finding 6: main.enable_profiling with a comment and a newline between the name and ( is refused', async () => {
	await assertWriterRefused(
		(ws) => `SELECT * FROM main.enable_profiling /* a comment */\n -- and another\n (${profileTo(ws)})${THEN}`,
		1,
	);
});

test('finding 6: ENABLE_PROFILING in upper case is refused', async () => {
	await assertWriterRefused(
		(ws) => `SELECT * FROM ENABLE_PROFILING(FORMAT => 'json', SAVE_LOCATION => '${ws.json}')${THEN}`,
		1,
	);
});

test('finding 6: enable_profiling inside a CREATE VIEW body is refused when the view is created', async () => {
	await assertWriterRefused(
		(ws) => `CREATE VIEW v AS SELECT * FROM enable_profiling(${profileTo(ws)}); SELECT * FROM v${THEN}`,
		1,
	);
});

test('finding 6: enable_profiling inside a CREATE MACRO body is refused when the macro is created', async () => {
	await assertWriterRefused(
		(ws) => `CREATE MACRO p() AS TABLE SELECT * FROM enable_profiling(${profileTo(ws)}); FROM p()${THEN}`,
		1,
	);
});

test('finding 6: enable_profiling inside a subquery is refused', async () => {
	await assertWriterRefused(
		(ws) => `INSERT INTO kept VALUES (3); SELECT (SELECT count(*) FROM enable_profiling(${profileTo(ws)})) AS n${THEN}`,
		2,
	);
});

// DuckDB's lexer knows more than the guard's tokenizer. Where they could disagree about what is code, the guard
// refuses the script instead of guessing: each of these hides the call from a tokenizer that guessed.
test("a call hidden behind an E'\\'' string (backslash-escaped quote) is refused as not checkable", async () => {
	const ws = await workspace();
	const before = fingerprint(ws.json);
	await assertRefused(ws, `SELECT E'\\'' AS a, * FROM enable_profiling(${profileTo(ws)}) --'\n${THEN}`, {
		statement: 1,
		message: /^the script cannot be checked safely: .*E'…' string/,
	});
	assert.equal(fingerprint(ws.json), before);
});

test('a call hidden behind a nested /* /* */ comment is refused as not checkable', async () => {
	const ws = await workspace();
	await assertRefused(ws, `SELECT 1 /* /* */ ' */, * FROM enable_profiling(${profileTo(ws)}) --'\n${THEN}`, {
		statement: 1,
		message: /^the script cannot be checked safely: .*comment inside a \/\* comment/,
	});
});

test('a no-break space or a carriage return (which end names and -- comments for DuckDB) does not hide a call', async () => {
	await assertWriterRefused((ws) => `SELECT * FROM enable_profiling\u00a0(${profileTo(ws)})${THEN}`, 1);
	await assertWriterRefused(
		(ws) => `SELECT 1 AS x -- a comment\r, * FROM enable_profiling(${profileTo(ws)})${THEN}`,
		1,
	);
});

test('a script that DuckDB and the guard would split differently ($$…;…$$) is refused as not checkable and runs nothing', async () => {
	const ws = await workspace();
	await assertRefused(
		ws,
		`INSERT INTO kept VALUES (3); SELECT $$ ; CALL enable_profiling(${profileTo(ws)}); $$ AS s${THEN}`,
		{
			statement: 2,
			message: /^the script cannot be checked safely: it has a \$ outside a string .*Write strings as '…'/,
		},
	);
});

test('a typical script still runs: tables from a CSV in the allowed folder, strings and names that look like calls, informational statements', async () => {
	const ws = await workspace();
	writeFileSync(join(ws.root, 'prices.csv'), 'symbol,price\nBTCUSDT,40000.5\nETHUSDT,2000.25\n');
	const before = snapshot(ws.root);
	const outcome = await sql({
		databasePath: ws.db,
		sql: `CREATE TABLE prices (symbol VARCHAR, price DOUBLE, note VARCHAR, "query" INTEGER);
			-- a comment; with a semicolon and enable_profiling(
			INSERT INTO prices SELECT symbol, price, 'enable_profiling(''x''); -- not a comment', 1 FROM read_csv('${join(ws.root, 'prices.csv')}');
			/* a block comment; CALL enable_logging() */
			UPDATE prices SET "query" = "query" + 1 WHERE symbol = 'BTCUSDT';
			PRAGMA table_info('prices');
			DESCRIBE prices;
			SHOW TABLES;
			SUMMARIZE prices;
			CALL pragma_version();
			SELECT symbol, price, note, "query" FROM prices ORDER BY symbol`,
		returnRows: true,
	});
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.equal(outcome.sql?.statementsRun, 9);
	assert.deepEqual(outcome.sql?.rows, [
		{ symbol: 'BTCUSDT', price: 40000.5, note: "enable_profiling('x'); -- not a comment", query: 2 },
		{ symbol: 'ETHUSDT', price: 2000.25, note: "enable_profiling('x'); -- not a comment", query: 1 },
	]);
	const after = snapshot(ws.root);
	assert.deepEqual(
		Object.keys(after).filter((name) => !name.startsWith('market.duckdb')),
		Object.keys(before).filter((name) => !name.startsWith('market.duckdb')),
		'only the database changed',
	);
	assert.equal(after['existing.json'], before['existing.json']);
});
