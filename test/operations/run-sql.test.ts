/**
 * Run SQL with real databases: one transaction for the whole script, rows of the last query, and the sandbox:
 * reading /etc/passwd, writing outside the allowed folders and attaching another database are refused by DuckDB
 * and leave nothing written.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSqlScript } from '../../lib/operations/supervise-worker';
import { resolveSqlSpec, type SqlSpec } from '../../lib/operations/spec';
import { builtinTableFunctions, runScript } from '../../lib/operations/run-sql/script';
import type { WorkerControl } from '../../lib/operations/ingest-files/load';
import { openConfined } from '../../lib/duckdb/sandbox';
import { UsageError } from '../../lib/base/errors';
import { countRows, query } from '../helpers/aggtrades';
import { stopAll, tempDir } from '../helpers/processes';
import { runCli } from '../helpers/cli';

const dir = tempDir();
let n = 0;
afterEach(() => stopAll());
after(() => dir.remove());

function workspace(): { db: string; root: string; outside: string } {
	const root = join(dir.path, `s${++n}`);
	const outside = join(dir.path, `outside${n}`);
	mkdirSync(root, { recursive: true });
	mkdirSync(outside, { recursive: true });
	return { db: join(root, 'market.duckdb'), root, outside };
}

function sql(spec: SqlSpec, timeoutMs?: number) {
	return runSqlScript(spec, { timeoutMs, graceMs: timeoutMs ? Math.min(timeoutMs, 10_000) : 10_000 });
}

function fingerprint(path: string): string {
	return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function tables(db: string): Promise<string[]> {
	if (!existsSync(db)) return [];
	return (await query(db, 'SELECT table_name FROM duckdb_tables() ORDER BY table_name')).map((row) =>
		String(row.table_name),
	);
}

test("a script runs in one transaction: changed rows are counted and the last query's rows come back, limited", async () => {
	const { db } = workspace();
	const outcome = await sql({
		databasePath: db,
		sql: `CREATE TABLE prices (id BIGINT, price DOUBLE, traded_at TIMESTAMP);
			INSERT INTO prices SELECT range, range * 1.5, TIMESTAMP '2024-01-01' + INTERVAL (range) MINUTE FROM range(50);
			UPDATE prices SET price = price * 2 WHERE id < 10;
			SELECT id, price, traded_at, 9007199254740993::BIGINT AS huge FROM prices ORDER BY id`,
		returnRows: true,
		rowLimit: 5,
	});
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.equal(outcome.operation, 'runSql');
	assert.deepEqual([outcome.sql?.statements, outcome.sql?.statementsRun, outcome.sql?.rowsChanged], [4, 4, 60]);
	assert.equal(outcome.sql?.rows?.length, 5);
	assert.equal(outcome.sql?.rowsTruncated, true);
	assert.deepEqual(outcome.sql?.rows?.[1], {
		id: 1,
		price: 3,
		traded_at: '2024-01-01T00:01:00.000Z',
		huge: '9007199254740993',
	});
	assert.deepEqual(outcome.sql?.columns, ['id', 'price', 'traded_at', 'huge']);
	assert.match(outcome.summary, /^Success: ran 4 statements, 60 rows changed, 5 rows returned/);
	assert.doesNotThrow(() => JSON.stringify(outcome), 'JSON-safe (no bigint) for n8n items');
	assert.equal(await countRows(db, 'prices'), 50);
});

test('a failing statement rolls back the whole script; a syntax error runs nothing; BEGIN/COMMIT inside are refused', async () => {
	const { db } = workspace();
	await sql({ databasePath: db, sql: 'CREATE TABLE t (i INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)' });
	const failing = await sql({
		databasePath: db,
		sql: 'INSERT INTO t VALUES (2); CREATE TABLE u (x INTEGER); INSERT INTO t VALUES (1)',
	});
	assert.equal(failing.status, 'failed');
	assert.equal(failing.sql?.failedStatement, 3);
	assert.match(failing.summary, /^Failed: statement 3: .*(Constraint|Duplicate key).*rolled back, nothing changed/);
	assert.deepEqual(await tables(db), ['t']);
	assert.equal(await countRows(db, 't'), 1);

	const syntax = await sql({ databasePath: db, sql: 'INSERT INTO t VALUES (5); SELEC oops' });
	assert.equal(syntax.status, 'failed');
	assert.match(syntax.summary, /the SQL does not parse: Parser Error/);
	assert.equal(syntax.sql?.statementsRun, 0);
	assert.equal(await countRows(db, 't'), 1);

	const nested = await sql({ databasePath: db, sql: 'INSERT INTO t VALUES (6); COMMIT; INSERT INTO t VALUES (7)' });
	assert.equal(nested.status, 'failed');
	assert.match(nested.summary, /BEGIN, COMMIT and ROLLBACK are not allowed/);
	assert.equal(await countRows(db, 't'), 1);
});

test('the sandbox: reading /etc/passwd or outside the folders, writing any file (even the database or its WAL), attaching and re-enabling access are refused; nothing is written', async () => {
	const { db, root, outside } = workspace();
	await sql({ databasePath: db, sql: 'CREATE TABLE kept (i INTEGER); INSERT INTO kept VALUES (1), (2)' });
	const escapes = [
		"SELECT * FROM read_csv('/etc/passwd')",
		`SELECT * FROM read_text('${root}/../../../etc/hostname')`,
		`COPY (SELECT 42 AS answer) TO '${join(outside, 'leak.csv')}'`,
		// DuckDB exempts the open database and its WAL from allowed_directories: COPY could overwrite them.
		`COPY (SELECT 1) TO '${db}' (USE_TMP_FILE false)`,
		`COPY (SELECT 1) TO '${db}.wal' (USE_TMP_FILE false)`,
		`COPY kept FROM '${join(outside, 'x.csv')}'`,
		`EXPORT DATABASE '${outside}'`,
		`ATTACH '${join(outside, 'other.duckdb')}' AS other`,
		`ATTACH '${db}.wal' AS wal`,
		'SET enable_external_access = true',
		"SET allowed_directories = ['/']",
		"SET temp_directory = '/tmp/elsewhere'",
		'INSTALL httpfs',
		// A statement that runs another one reaches the checks as itself (PREPARE, EXECUTE, EXPLAIN), not as what it runs.
		`PREPARE w AS COPY (SELECT 1) TO '${db}.wal' (USE_TMP_FILE false); EXECUTE w`,
		`EXPLAIN ANALYZE COPY (SELECT 1) TO '${db}.wal' (USE_TMP_FILE false)`,
		`EXPLAIN ANALYZE COPY (SELECT 1) TO '${join(root, 'leak.csv')}'`,
		'EXPLAIN ANALYZE COMMIT',
		'EXPLAIN ANALYZE ROLLBACK',
	];
	const databaseBefore = fingerprint(db);
	const rootBefore = readdirSync(root).sort();
	for (const escape of escapes) {
		const outcome = await sql({
			databasePath: db,
			sql: `CREATE TABLE IF NOT EXISTS witness (i INTEGER); INSERT INTO witness VALUES (1); ${escape}`,
		});
		assert.equal(outcome.status, 'failed', `${escape}: ${outcome.summary}`);
		assert.match(
			outcome.sql?.error ?? '',
			/Permission Error|Cannot change|disabled|configuration has been locked|not allowed in Run SQL/,
			`${escape}: ${outcome.sql?.error}`,
		);
		assert.equal(outcome.sql?.failedStatement, 3, escape);
		assert.equal(existsSync(`${db}.wal`), false, `${escape}: no WAL left behind`);
		assert.deepEqual(readdirSync(root).sort(), rootBefore, `${escape}: nothing written next to the database`);
		assert.equal(fingerprint(db), databaseBefore, `${escape}: the database file is unchanged`);
	}
	assert.deepEqual(await tables(db), ['kept'], 'every script was rolled back; the database is intact');
	assert.equal(await countRows(db, 'kept'), 2);
	assert.deepEqual(readdirSync(outside), [], 'nothing was written outside');
	assert.equal(existsSync(`${db}.wal`), false);

	// Reading from a folder that was explicitly allowed works; without it, it does not.
	writeFileSync(join(outside, 'symbols.csv'), 'symbol\nBTCUSDT\n');
	const reading = `CREATE TABLE symbols AS SELECT * FROM read_csv('${join(outside, 'symbols.csv')}')`;
	assert.equal((await sql({ databasePath: db, sql: reading })).status, 'failed');
	const widened = await sql({ databasePath: db, sql: reading, extraDirectories: [outside] });
	assert.equal(widened.status, 'success', widened.summary);
	assert.equal(await countRows(db, 'symbols'), 1);
});

test('only statement types known to be safe run: queries, data and schema changes, CALL, SET VARIABLE, informational PRAGMAs, ANALYZE, VACUUM; EXPLAIN, PREPARE, setting PRAGMAs and extensions are refused, saying what to do instead', async () => {
	const { db } = workspace();
	const allowed = await sql({
		databasePath: db,
		sql: `CREATE TABLE t (i INTEGER PRIMARY KEY, name VARCHAR);
			SET VARIABLE first = 1;
			INSERT INTO t VALUES (getvariable('first'), 'a'), (2, 'b');
			MERGE INTO t USING (SELECT 2 AS i, 'B' AS name UNION ALL SELECT 3, 'c') s ON t.i = s.i
				WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT VALUES (s.i, s.name);
			DELETE FROM t WHERE i = 1;
			ALTER TABLE t ADD COLUMN note VARCHAR;
			COMMENT ON TABLE t IS 'symbols';
			CREATE MACRO twice(x) AS x * 2;
			CREATE VIEW v AS SELECT i FROM t;
			DROP VIEW v;
			CALL range(3);
			PRAGMA table_info('t');
			DESCRIBE t;
			USE main;
			ANALYZE t;
			VACUUM t;
			SELECT i, name, twice(i) AS doubled FROM t ORDER BY i`,
		returnRows: true,
	});
	assert.equal(allowed.status, 'success', allowed.summary);
	assert.equal(allowed.sql?.statementsRun, 17);
	assert.deepEqual(allowed.sql?.rows, [
		{ i: 2, name: 'B', doubled: 4 },
		{ i: 3, name: 'c', doubled: 6 },
	]);

	const refused: Array<[string, RegExp]> = [
		[
			'EXPLAIN SELECT 1',
			/^EXPLAIN is not allowed in Run SQL: EXPLAIN ANALYZE runs the statement it explains without the checks .*plain EXPLAIN cannot be told apart .*Run the query itself/,
		],
		['PREPARE p AS SELECT 1', /^PREPARE is not allowed in Run SQL: .*Write the statement itself in the script/],
		[
			'PRAGMA disable_checkpoint_on_shutdown',
			/^this PRAGMA is not allowed in Run SQL: it changes a setting .*PRAGMAs that return information work: table_info/,
		],
		['PRAGMA enable_profiling', /^this PRAGMA is not allowed in Run SQL/],
		['LOAD parquet', /^INSTALL\/LOAD is not allowed in Run SQL: extensions run native code outside the sandbox/],
		['UPDATE EXTENSIONS', /^UPDATE EXTENSIONS is not allowed in Run SQL/],
		['BEGIN TRANSACTION', /^BEGIN, COMMIT and ROLLBACK are not allowed: the script already runs as one transaction/],
	];
	for (const [statement, message] of refused) {
		const outcome = await sql({ databasePath: db, sql: `INSERT INTO t VALUES (9, 'x', NULL); ${statement}` });
		assert.equal(outcome.status, 'failed', statement);
		assert.equal(outcome.sql?.failedStatement, 2, statement);
		assert.match(outcome.sql?.error ?? '', message, statement);
		assert.match(outcome.summary, /^Failed: statement 2: .* not allowed/, statement);
	}
	assert.equal(await countRows(db, 't'), 2, 'every refused script was rolled back');
});

test('a long query stopped by the timeout is interrupted and rolled back in the grace period', async () => {
	const { db } = workspace();
	await sql({ databasePath: db, sql: 'CREATE TABLE t (i BIGINT)' });
	const outcome = await sql(
		{ databasePath: db, sql: 'INSERT INTO t VALUES (1); INSERT INTO t SELECT count(*) FROM range(10000000000000)' },
		1500,
	);
	assert.equal(outcome.status, 'timeout');
	assert.equal(outcome.termination?.sigkillSent, false, 'DuckDB was interrupted: no SIGKILL');
	assert.equal(outcome.sql?.stopped, true);
	assert.match(outcome.summary, /^Timeout: SQL stopped .* rolled back, nothing changed/);
	assert.equal(await countRows(db, 't'), 0);
	assert.equal(existsSync(`${db}.pid`), false);
});

test('bad input is a UsageError before anything exists', async () => {
	const { db, root } = workspace();
	const cases: Array<[Partial<SqlSpec>, RegExp]> = [
		[{ sql: '  ' }, /The SQL is empty/],
		[{ rowLimit: 0 }, /row limit must be/],
		[{ memoryLimit: '4 elephants' }, /is not a size/],
		[{ databasePath: join(root, 'missing', 'x.duckdb') }, /database folder .* does not exist/],
	];
	for (const [change, message] of cases) {
		await assert.rejects(
			runSqlScript({ databasePath: db, sql: 'SELECT 1', ...change }, {}),
			(error: unknown) => error instanceof UsageError && message.test(error.message),
			String(message),
		);
	}
	assert.equal(existsSync(db), false);
});

test('the CLI: --sql FILE with --rows prints JSON lines; --ingest without --table and a command together with --sql are usage errors (125)', async () => {
	const { db, root } = workspace();
	const script = join(root, 'q.sql');
	writeFileSync(script, 'CREATE TABLE t AS SELECT range AS i FROM range(3); SELECT i FROM t ORDER BY i');
	const result = await runCli('duckdb-safe-ingest', ['--db', db, '--sql', script, '--rows', '10']);
	assert.equal(result.code, 0, result.stderr);
	assert.equal(result.stdout, '{"i":0}\n{"i":1}\n{"i":2}\n');
	assert.match(result.stderr, /Success: ran 2 statements/);
	const noTable = await runCli('duckdb-safe-ingest', ['--db', db, '--ingest', join(root, '*.csv')]);
	assert.equal(noTable.code, 125);
	assert.match(noTable.stderr, /--ingest needs --table/);
	const both = await runCli('duckdb-safe-ingest', ['--db', db, '--sql', script, '--', 'true']);
	assert.equal(both.code, 125);
	assert.match(both.stderr, /Give one of/);
	for (const [args, message] of [
		[['--threads', '2', '--', 'true'], /--threads belongs to --ingest, --sql or --insert-rows/],
		[['--sql', script, '--table', 't'], /--table belongs to --ingest, not --sql/],
		[['--ingest', join(root, '*.csv'), '--table', 't', '--rows', '3'], /--rows belongs to --sql, not --ingest/],
	] as const) {
		const misplaced = await runCli('duckdb-safe-ingest', ['--db', db, ...args]);
		assert.equal(misplaced.code, 125);
		assert.match(misplaced.stderr, message);
	}
	const failed = await runCli('duckdb-safe-ingest', [
		'--db',
		db,
		'--json',
		'--ingest',
		join(root, '*.parquet'),
		'--table',
		't2',
	]);
	assert.equal(failed.code, 1);
	assert.equal(failed.json?.status, 'failed');
	assert.match(failed.json?.summary ?? '', /no files match/);
});

test('a one-statement script (autocommit) stopped at any moment is reported committed exactly when its rows are there', async () => {
	const { db, root } = workspace();
	const open = await openConfined({ databasePath: db, access: { allowed: [root], denied: [] } });
	try {
		await open.connection.run('CREATE TABLE t (i BIGINT)');
		// Counted on a connection of its own: an interrupt that lands after the statement ended stays on the other one.
		const count = async (): Promise<number> =>
			Number((await open.connection.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0]);
		const spec = resolveSqlSpec({ databasePath: db, sql: 'INSERT INTO t SELECT range FROM range(2000000)' });
		const builtins = await builtinTableFunctions(open.connection);
		const timed = await open.instance.connect();
		let started = Date.now();
		await runScript(
			timed,
			spec,
			control(() => false),
			builtins,
		);
		const durationMs = Date.now() - started;
		timed.closeSync();
		const seen = { committed: 0, stopped: 0 };
		for (let trial = 0; trial < 40; trial++) {
			const before = await count();
			// Each run its own session, as each item of the worker; the stop as the worker's: the flag, then the interrupt.
			const session = await open.instance.connect();
			let stopping = false;
			const timer = setTimeout(
				() => {
					stopping = true;
					session.interrupt();
				},
				Math.random() * durationMs * 1.3,
			);
			started = Date.now();
			const report = await runScript(
				session,
				spec,
				control(() => stopping),
				builtins,
			);
			clearTimeout(timer);
			session.closeSync();
			const added = (await count()) - before;
			assert.ok(added === 0 || added === 2_000_000, `a torn statement: ${added} rows`);
			assert.equal(added === 2_000_000, Boolean(report.committed), JSON.stringify(report));
			if (report.committed) seen.committed++;
			else {
				assert.equal(report.stopped, true, JSON.stringify(report));
				seen.stopped++;
			}
		}
		// Both sides were met (stops before and after the end), or the test proved nothing.
		assert.ok(seen.committed > 0 && seen.stopped > 0, JSON.stringify(seen));
	} finally {
		open.close();
	}
});

function control(stopping: () => boolean): WorkerControl {
	return { stopping, progress: () => undefined, committing: (commit) => commit() };
}
