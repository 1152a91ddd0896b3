/**
 * Attacks on Run SQL's sandbox that were already closed before the statement guard and must stay closed: reading
 * outside the allowed folders by any spelling, statements that write files or run other statements, settings,
 * secrets and extensions. Each runs in a real worker against a real database; each asserts the refusal (statement
 * number and message), that no file changed anywhere we look, and that the database opens afterwards.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { stopAll, tempDir } from '../helpers/processes';
import { assertRefused, DUCKDB_HOME, snapshot, sql, sqlWorkspace, type SqlWorkspace } from '../helpers/sql';

const dir = tempDir();
let n = 0;
afterEach(() => stopAll());
after(() => dir.remove());

const workspace = (): Promise<SqlWorkspace> => sqlWorkspace(dir.path, `h${++n}`);
/** DuckDB's refusal of a path outside the allowed folders, naming the path. */
const denied = (path: string): RegExp =>
	new RegExp(`^Permission Error: Cannot access (file|directory) "${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
const notAllowed = (what: string): RegExp => new RegExp(`^${what} is not allowed in Run SQL: `);
const FIRST = 'INSERT INTO kept VALUES (3); ';

test("held: a relative path (from the worker's folder, or ../ out of the database's) cannot read outside", async () => {
	const ws = await workspace();
	const fromCwd = relative(process.cwd(), ws.secret);
	await assertRefused(ws, `${FIRST}SELECT * FROM read_text('${fromCwd}')`, {
		statement: 2,
		message: /^Permission Error: Cannot access file/,
	});
	const dotDot = `${ws.root}/../${basename(ws.outside)}/secret.txt`;
	await assertRefused(ws, `${FIRST}SELECT * FROM read_text('${dotDot}')`, { statement: 2, message: denied(dotDot) });
});

test('held: a file:// URL cannot read outside', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}SELECT * FROM read_text('file://${ws.secret}')`, {
		statement: 2,
		message: /^Permission Error: Cannot access file "file:\/\//,
	});
});

test('held: a ~ path cannot read outside', async () => {
	const ws = await workspace();
	const tilde = `~/${relative(homedir(), ws.secret)}`;
	await assertRefused(ws, `${FIRST}SELECT * FROM read_text('${tilde}')`, {
		statement: 2,
		message: /^Permission Error: Cannot access file/,
	});
});

test('held: a macro that names the path cannot read outside', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}CREATE MACRO target() AS '${ws.secret}'; SELECT * FROM read_text(target())`, {
		statement: 3,
		message: denied(ws.secret),
	});
});

test('held: a variable (SET VARIABLE, getvariable) that holds the path cannot read outside', async () => {
	const ws = await workspace();
	await assertRefused(
		ws,
		`${FIRST}SET VARIABLE target = '${ws.secret}'; SELECT * FROM read_text(getvariable('target'))`,
		{ statement: 3, message: denied(ws.secret) },
	);
});

test("held: FROM 'file.csv' (a replacement scan, no function named) cannot read outside", async () => {
	const ws = await workspace();
	const csv = join(ws.outside, 'other.csv');
	writeFileSync(csv, 'a\n1\n');
	await assertRefused(ws, `${FIRST}FROM '${csv}'`, { statement: 2, message: denied(csv) });
});

test("held: read_blob('/proc/self/environ') cannot read the worker's environment", async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}SELECT * FROM read_blob('/proc/self/environ')`, {
		statement: 2,
		message: denied('/proc/self/environ'),
	});
});

test('held: an https URL is not fetched', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}SELECT * FROM read_text('https://example.com/index.html')`, {
		statement: 2,
		message: denied('https://example.com/index.html'),
	});
});

test('held: COPY … TO a file in the allowed folder is refused before it runs', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}COPY kept TO '${join(ws.root, 'out.csv')}'`, {
		statement: 2,
		message: /^COPY is not allowed in Run SQL: it can write over the open database and its WAL/,
	});
});

test('held: EXPORT DATABASE outside the allowed folders is refused', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}EXPORT DATABASE '${join(ws.outside, 'export')}'`, {
		statement: 2,
		message: notAllowed('EXPORT DATABASE'),
	});
});

test('held: ATTACH of a new database file in the allowed folder is refused; no file is created', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}ATTACH '${join(ws.root, 'other.duckdb')}' AS other`, {
		statement: 2,
		message: notAllowed('ATTACH'),
	});
});

test('held: INSTALL and LOAD are refused', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}INSTALL httpfs`, {
		statement: 2,
		message: /^INSTALL\/LOAD is not allowed in Run SQL: extensions run native code outside the sandbox/,
		alsoUnchanged: [DUCKDB_HOME],
	});
	await assertRefused(ws, `${FIRST}LOAD json`, { statement: 2, message: notAllowed('INSTALL/LOAD') });
});

test('held: PREPARE … AS COPY and EXECUTE are refused', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}PREPARE w AS COPY kept TO '${join(ws.root, 'w.csv')}'; EXECUTE w`, {
		statement: 2,
		message: /^PREPARE is not allowed in Run SQL: .*Write the statement itself/,
	});
	await assertRefused(ws, `${FIRST}EXECUTE w`, { statement: 2, message: notAllowed('EXECUTE') });
});

test('held: EXPLAIN ANALYZE COPY is refused (EXPLAIN would run it)', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}EXPLAIN ANALYZE COPY kept TO '${join(ws.root, 'e.csv')}'`, {
		statement: 2,
		message: notAllowed('EXPLAIN'),
	});
});

test('held: BEGIN and COMMIT inside the script are refused (they would commit half of it)', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}COMMIT; INSERT INTO kept VALUES (4)`, {
		statement: 2,
		message: /^BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction/,
	});
	await assertRefused(ws, `${FIRST}BEGIN TRANSACTION`, {
		statement: 2,
		message: /^BEGIN, COMMIT and ROLLBACK are not allowed/,
	});
});

test("held: query('…') (SQL from a string) is refused", async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}SELECT * FROM query('SELECT 1')`, {
		statement: 2,
		message: /^query\(\) is not allowed in Run SQL: it runs SQL given as a string/,
	});
});

test('held: SET enable_external_access = true is refused by the locked configuration', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}SET enable_external_access = true`, {
		statement: 2,
		message: /Cannot change configuration option "enable_external_access" - the configuration has been locked/,
	});
});

test('held: SET allowed_directories (widening or resetting it) is refused by the locked configuration', async () => {
	const ws = await workspace();
	await assertRefused(ws, `${FIRST}SET allowed_directories = ['/']`, {
		statement: 2,
		message: /Cannot change configuration option "allowed_directories" - the configuration has been locked/,
	});
	await assertRefused(ws, `${FIRST}RESET allowed_directories`, {
		statement: 2,
		message: /Cannot change configuration option "allowed_directories"/,
	});
});

test('held: PRAGMAs that change settings are refused', async () => {
	const ws = await workspace();
	for (const pragma of [
		'PRAGMA threads = 1',
		'PRAGMA enable_checkpoint_on_shutdown',
		"PRAGMA profiling_output = 'p.txt'",
	]) {
		await assertRefused(ws, `${FIRST}${pragma}`, {
			statement: 2,
			message: /^this PRAGMA is not allowed in Run SQL: it changes a setting/,
		});
	}
});

test('held: CREATE SECRET and CREATE PERSISTENT SECRET are refused; nothing is written under ~/.duckdb', async () => {
	const ws = await workspace();
	const options = "(TYPE s3, KEY_ID 'id', SECRET 'key')";
	for (const create of [
		`CREATE SECRET s ${options}`,
		`CREATE PERSISTENT SECRET s ${options}`,
		`CREATE OR REPLACE PERSISTENT SECRET s ${options}`,
	]) {
		await assertRefused(ws, `${FIRST}${create}`, {
			statement: 2,
			message: notAllowed('CREATE SECRET'),
			alsoUnchanged: [DUCKDB_HOME],
		});
	}
	await assertRefused(ws, `${FIRST}DROP PERSISTENT SECRET s`, {
		statement: 2,
		message: notAllowed('DROP SECRET'),
		alsoUnchanged: [DUCKDB_HOME],
	});
});

test('held: a function of an extension that is not loaded does not install or load it (nothing downloaded or written)', async () => {
	const ws = await workspace();
	// The sandbox disables autoloading: DuckDB does not even try, it names the extension instead.
	const autoload = /^Catalog Error: .*read_xlsx.* exists in the excel extension/s;
	await assertRefused(ws, `${FIRST}SELECT * FROM read_xlsx('${join(ws.root, 'book.xlsx')}')`, {
		statement: 2,
		message: autoload,
		alsoUnchanged: [DUCKDB_HOME],
	});
	await assertRefused(ws, `${FIRST}FROM '${join(ws.root, 'book.xlsx')}'`, {
		statement: 2,
		// No extension's replacement scan is tried for the file name either.
		message: /^Catalog Error: Table with name .*book\.xlsx does not exist/s,
		alsoUnchanged: [DUCKDB_HOME],
	});
});

test('held: the logger cannot be pointed at a file by SET, so write_log() (a scalar function, allowed) writes no file', async () => {
	const ws = await workspace();
	for (const setting of [
		"logging_storage = 'file'",
		'enable_logging = true',
		`log_query_path = '${join(ws.root, 'queries.log')}'`,
	]) {
		const name = setting.split(' ')[0];
		await assertRefused(ws, `${FIRST}SET ${setting}`, {
			statement: 2,
			message: new RegExp(
				`^Invalid Input Error: Cannot change configuration option "${name}" - the configuration has been locked`,
			),
		});
	}
	const before = snapshot(ws.root);
	const logged = await sql({
		databasePath: ws.db,
		sql: "SELECT write_log('hello', level := 'error') AS logged",
		returnRows: true,
	});
	assert.equal(logged.status, 'success', logged.summary);
	assert.deepEqual(snapshot(ws.root), before, 'write_log wrote no file');
});
