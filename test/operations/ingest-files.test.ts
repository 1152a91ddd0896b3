/**
 * Ingest Files with real files and real databases: every format, every write mode, the manifest's skip-and-resume,
 * a corrupt file in the middle, a run stopped by its timeout inside a large file, and bad input.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { runIngestFiles, runSqlScript, withReport } from '../../lib/operations/supervise-worker';
import { fileAccessFor, resolveIngestSpec, type IngestSpec } from '../../lib/operations/spec';
import type { WorkerTask } from '../../lib/operations/worker-task';
import { readResults } from '../../lib/operations/batch-results';
import type { IngestReport } from '../../lib/outcome/operation-reports';
import { MANIFEST_TABLE } from '../../lib/operations/ingest-files/manifest';
import { UsageError } from '../../lib/base/errors';
import { AGGTRADES_COLUMNS, countRows, query, writeAggTrades } from '../helpers/aggtrades';
import { JsonChild, nodeChild, stopAll, tempDir } from '../helpers/processes';
import { parseColumns } from '../../lib/operations/spec';

const dir = tempDir();
let n = 0;
afterEach(() => stopAll());
after(() => dir.remove());

/** A fresh folder with a database path and a source folder. */
function workspace(): { db: string; src: string } {
	const root = join(dir.path, `w${++n}`);
	mkdirSync(join(root, 'src'), { recursive: true });
	return { db: join(root, 'market.duckdb'), src: join(root, 'src') };
}

function ingest(spec: Omit<IngestSpec, 'table'> & { table?: string }, timeoutMs?: number) {
	return runIngestFiles(
		{ table: 'trades', ...spec },
		{ timeoutMs, graceMs: timeoutMs ? Math.min(timeoutMs, 20_000) : 20_000 },
	);
}

test('CSV with a header, without one, and gzipped land in one table with exact values; a re-run skips them all', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, 'BTCUSDT-aggTrades-2024-01-01.csv'), { rows: 1000, start: 1, header: true });
	await writeAggTrades(join(src, 'BTCUSDT-aggTrades-2024-01-02.csv'), { rows: 500, start: 1001, header: false });
	await writeAggTrades(join(src, 'BTCUSDT-aggTrades-2024-01-03.csv.gz'), {
		rows: 700,
		start: 1501,
		header: true,
		gzip: true,
	});
	const first = await ingest({
		databasePath: db,
		sources: [join(src, 'BTCUSDT-aggTrades-*')],
		columns: parseColumns(AGGTRADES_COLUMNS),
	});
	assert.equal(first.status, 'success', first.summary);
	assert.equal(first.operation, 'ingestFiles');
	assert.deepEqual(first.ingest?.files, { matched: 3, ingested: 3, skipped: 0, failed: 0, notAttempted: 0 });
	assert.equal(first.ingest?.rows, 2200);
	assert.equal(first.ingest?.tableRows, 2200);
	assert.equal(first.ingest?.tableCreated, true);
	assert.match(first.summary, /^Success: ingested 3 files \(2,200 rows, .*\) into trades/);
	assert.match(first.output.stdout.tail, /\[2\/3\] ingested .*2024-01-02\.csv: 500 rows/, 'one progress line per file');
	const [stats] = await query(
		db,
		'SELECT count(DISTINCT agg_trade_id) AS ids, min(agg_trade_id) AS lo, max(agg_trade_id) AS hi, sum(price) AS price FROM trades',
	);
	assert.deepEqual([stats.ids, stats.lo, stats.hi], [2200n, 1n, 2200n]);
	const [headerless] = await query(db, 'SELECT price, is_buyer_maker FROM trades WHERE agg_trade_id = 1001');
	assert.deepEqual(
		headerless,
		{ price: 40000 + (1001 % 1000) * 0.5, is_buyer_maker: false },
		'the headerless file lines up by position',
	);
	const manifest = await query(db, `SELECT path, rows FROM ${MANIFEST_TABLE} ORDER BY path`);
	assert.deepEqual(
		manifest.map((row) => Number(row.rows)),
		[1000, 500, 700],
	);

	const again = await ingest({ databasePath: db, sources: [join(src, 'BTCUSDT-aggTrades-*')] });
	assert.equal(again.status, 'success', again.summary);
	assert.deepEqual(again.ingest?.files, { matched: 3, ingested: 0, skipped: 3, failed: 0, notAttempted: 0 });
	assert.equal(await countRows(db, 'trades'), 2200);
	assert.match(again.summary, /3 unchanged skipped/);
});

test('Parquet, NDJSON and JSON arrays each create their table with the inferred schema', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, 'a.parquet'), { rows: 300, format: 'parquet' });
	await writeAggTrades(join(src, 'a.ndjson'), { rows: 200, format: 'ndjson' });
	await writeAggTrades(join(src, 'a.json'), { rows: 100, format: 'json' });
	for (const [file, table, rows] of [
		['a.parquet', 'from_parquet', 300],
		['a.ndjson', 'from_ndjson', 200],
		['a.json', 'from_json', 100],
	] as const) {
		const outcome = await ingest({ databasePath: db, sources: [join(src, file)], table });
		assert.equal(outcome.status, 'success', outcome.summary);
		assert.equal(await countRows(db, table), rows);
	}
	const columns = await query(
		db,
		"SELECT column_name FROM duckdb_columns() WHERE table_name = 'from_parquet' ORDER BY column_index",
	);
	assert.deepEqual(
		columns.map((row) => row.column_name),
		['agg_trade_id', 'price', 'quantity', 'first_trade_id', 'last_trade_id', 'transact_time', 'is_buyer_maker'],
	);
	const [row] = await query(db, 'SELECT price FROM from_ndjson WHERE agg_trade_id = 7');
	assert.equal(row.price, 40003.5);
	// An explicit format reads a file whose name says nothing.
	writeFileSync(join(src, 'export.data'), '{"agg_trade_id": 1, "price": 2.5}\n{"agg_trade_id": 2, "price": 3.5}\n');
	const explicit = await ingest({
		databasePath: db,
		sources: [join(src, 'export.data')],
		table: 'exported',
		format: 'ndjson',
	});
	assert.equal(explicit.status, 'success', explicit.summary);
	const unknown = await ingest({ databasePath: db, sources: [join(src, 'export.data')], table: 'exported2' });
	assert.equal(unknown.status, 'failed');
	assert.match(unknown.summary, /cannot tell the format of .*export\.data.*Set the format/);
});

test('append refuses a file that changed since it was ingested (it would duplicate rows); replace reloads in one transaction', async () => {
	const { db, src } = workspace();
	const day1 = join(src, 'day1.csv');
	await writeAggTrades(day1, { rows: 100, start: 1 });
	await writeAggTrades(join(src, 'day2.csv'), { rows: 100, start: 101 });
	assert.equal((await ingest({ databasePath: db, sources: [join(src, '*.csv')] })).status, 'success');
	appendFileSync(day1, '999999,1,1,1,1,1,true\n');
	const changed = await ingest({ databasePath: db, sources: [join(src, '*.csv')] });
	assert.equal(changed.status, 'failed');
	assert.match(changed.summary, /day1\.csv: changed since it was ingested .*would duplicate/);
	assert.equal(await countRows(db, 'trades'), 200, 'nothing appended');

	const replaced = await ingest({ databasePath: db, sources: [join(src, '*.csv')], mode: 'replace' });
	assert.equal(replaced.status, 'success', replaced.summary);
	assert.equal(await countRows(db, 'trades'), 201, 'the table holds exactly the files of this run');
	// A replace that fails in its last file leaves the table exactly as it was.
	writeFileSync(join(src, 'zz-broken.csv'), 'agg_trade_id,price\n1,not-a-number-at-all\n');
	const failedReplace = await ingest({ databasePath: db, sources: [join(src, '*.csv')], mode: 'replace' });
	assert.equal(failedReplace.status, 'failed');
	assert.match(failedReplace.summary, /zz-broken\.csv/);
	assert.equal(failedReplace.ingest?.files.ingested, 0, 'rolled back: nothing of it counts');
	assert.equal(await countRows(db, 'trades'), 201);
	const manifest = await query(db, `SELECT count(*) AS n FROM ${MANIFEST_TABLE}`);
	assert.equal(manifest[0].n, 2n, 'the manifest still lists the committed reload');
});

test('insert-or-ignore over overlapping files keeps the first version of each key, without duplicates; upsert keeps the last', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, '1.csv'), { rows: 1000, start: 1 });
	await writeAggTrades(join(src, '2.csv'), { rows: 1000, start: 501, priceOffset: 1 });
	const base = {
		databasePath: db,
		sources: [join(src, '*.csv')],
		columns: parseColumns(AGGTRADES_COLUMNS),
		primaryKey: ['agg_trade_id'],
	};
	const ignore = await ingest({ ...base, table: 'ignored', mode: 'insertOrIgnore' });
	assert.equal(ignore.status, 'success', ignore.summary);
	// Each row's price tells its file: the second file's prices are 1 higher.
	const offsetOf = 'price - (40000 + (agg_trade_id % 1000) * 0.5)';
	const [ignored] = await query(
		db,
		`SELECT count(*) AS n, count(DISTINCT agg_trade_id) AS ids, count(*) FILTER (WHERE ${offsetOf} = 1) AS second FROM ignored`,
	);
	assert.deepEqual([ignored.n, ignored.ids], [1500n, 1500n]);
	assert.equal(
		Number(ignored.second),
		500,
		"overlapping keys 501-1000 keep the first file's rows; 1001-1500 come from the second",
	);
	assert.equal(ignore.ingest?.rows, 1500, 'only new rows are counted');

	const upsert = await ingest({ ...base, table: 'upserted', mode: 'upsert' });
	assert.equal(upsert.status, 'success', upsert.summary);
	const [upserted] = await query(
		db,
		`SELECT count(*) AS n, count(*) FILTER (WHERE ${offsetOf} = 1) AS second FROM upserted`,
	);
	assert.equal(upserted.n, 1500n);
	assert.equal(Number(upserted.second), 1000, "ids 501-1500 carry the later file's values");

	// Without a key there is nothing to ignore or replace by: refused before any table is created.
	const keyless = await ingest({ databasePath: db, sources: [join(src, '*.csv')], table: 'keyless', mode: 'upsert' });
	assert.equal(keyless.status, 'failed');
	assert.match(keyless.summary, /upsert needs a primary key/);
	assert.equal((await query(db, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'keyless'"))[0].n, 0n);
});

test('a corrupt file fails the run with its name; the files before it stay committed and a fixed re-run completes', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, 'd1.csv'), { rows: 100, start: 1 });
	writeFileSync(
		join(src, 'd2.csv'),
		'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n101,1.0,1.0,1,1,1,true\n102,"unterminated\n',
	);
	await writeAggTrades(join(src, 'd3.csv'), { rows: 100, start: 201 });
	const columns = parseColumns(AGGTRADES_COLUMNS);
	const broken = await ingest({ databasePath: db, sources: [join(src, 'd*.csv')], columns });
	assert.equal(broken.status, 'failed');
	assert.match(broken.summary, /^Failed: d2\.csv: .+; committed before it: 1 file \(100 rows/);
	assert.deepEqual(broken.ingest?.files, { matched: 3, ingested: 1, skipped: 0, failed: 1, notAttempted: 1 });
	assert.equal(await countRows(db, 'trades'), 100);
	await writeAggTrades(join(src, 'd2.csv'), { rows: 100, start: 101 });
	const fixed = await ingest({ databasePath: db, sources: [join(src, 'd*.csv')] });
	assert.equal(fixed.status, 'success', fixed.summary);
	assert.deepEqual([fixed.ingest?.files.skipped, fixed.ingest?.files.ingested], [1, 2]);
	assert.equal(await countRows(db, 'trades'), 300);
});

test('a run stopped by its timeout inside a large file keeps the files before it; the next run completes with the exact count', async () => {
	const { db, src } = workspace();
	for (let day = 1; day <= 3; day++)
		await writeAggTrades(join(src, `0${day}-small.csv`), { rows: 1000, start: day * 1000 });
	// Large enough that one thread with a primary key takes several times the timeout on this kind of machine.
	const bigRows = 6_000_000;
	await writeAggTrades(join(src, '99-big.csv'), { rows: bigRows, start: 10_000 });
	const spec = {
		databasePath: db,
		sources: [join(src, '*.csv')],
		columns: parseColumns(AGGTRADES_COLUMNS),
		primaryKey: ['agg_trade_id'],
		mode: 'insertOrIgnore' as const,
		threads: 1,
	};
	const stopped = await ingest(spec, 4500);
	assert.equal(stopped.status, 'timeout', stopped.summary);
	assert.equal(
		stopped.termination?.sigkillSent,
		false,
		'the worker interrupted DuckDB and exited within the grace period',
	);
	assert.equal(stopped.ingest?.stopped, true);
	assert.equal(stopped.ingest?.files.ingested, 3, 'the three small files were committed before the deadline');
	assert.match(stopped.summary, /^Timeout: .*committed 3 files \(3,000 rows.*the next run resumes/);
	assert.match(stopped.output.stdout.tail, /stopped while ingesting .*99-big\.csv: rolled back/);
	assert.equal(existsSync(`${db}.pid`), false, 'lock released');
	assert.equal(await countRows(db, 'trades'), 3000, 'no row of the interrupted file');

	const resumed = await ingest(spec);
	assert.equal(resumed.status, 'success', resumed.summary);
	assert.deepEqual([resumed.ingest?.files.skipped, resumed.ingest?.files.ingested], [3, 1]);
	assert.equal(await countRows(db, 'trades'), 3000 + bigRows);
});

test('bad input is a clear UsageError and creates nothing; no matching file is a Failed outcome, not a crash', async () => {
	const { db, src } = workspace();
	const cases: Array<[Partial<IngestSpec>, RegExp]> = [
		[{ sources: [] }, /No source files given/],
		[{ sources: ['  '] }, /No source files given/],
		[{ sources: [join(dir.path, 'nowhere', '*.csv')] }, /source folder .*nowhere.* does not exist/],
		[{ table: 'drop table x;--' }, /is not a table name/],
		[{ table: '1abc' }, /is not a table name/],
		[{ columns: [{ name: 'a b', type: 'INT' }] }, /is not a column name/],
		[{ columns: [{ name: 'a', type: 'INT); DROP TABLE x; --' }] }, /is not a DuckDB type/],
		[{ columns: [{ name: 'a', type: 'INT CHECK (a > 0)' }] }, /is not a DuckDB type/],
		[{ columns: [{ name: 'a', type: 'INT, b INT' }] }, /is not a DuckDB type/],
		[{ columns: [{ name: 'a', type: 'INT DEFAULT 5' }] }, /is not a DuckDB type/],
		[{ columns: [{ name: 'a', type: 'INT' }], primaryKey: ['b'] }, /primary key .* not among the columns/],
		[{ memoryLimit: 'lots' }, /is not a size/],
		[{ threads: 0 }, /Threads must be/],
		[{ mode: 'merge' as never }, /Write mode "merge" is unknown/],
		[{ extraDirectories: [join(dir.path, 'absent')] }, /allowed folder .* does not exist/],
	];
	for (const [change, message] of cases) {
		await assert.rejects(
			runIngestFiles({ databasePath: db, sources: [join(src, '*.csv')], table: 'trades', ...change }, {}),
			(error: unknown) => error instanceof UsageError && message.test(error.message),
			String(message),
		);
	}
	assert.deepEqual(readdirSync(join(db, '..')), ['src'], 'nothing was created');

	const none = await ingest({ databasePath: db, sources: [join(src, '*.csv')] });
	assert.equal(none.status, 'failed');
	assert.match(none.summary, /no files match .*\*\.csv/);
});

test('a file modified in place (same size, new time) is re-ingested by upsert', async () => {
	const { db, src } = workspace();
	const file = join(src, 'day.csv');
	await writeAggTrades(file, { rows: 10, start: 1 });
	const spec = {
		databasePath: db,
		sources: [file],
		columns: parseColumns(AGGTRADES_COLUMNS),
		primaryKey: ['agg_trade_id'],
		mode: 'upsert' as const,
	};
	assert.equal((await ingest(spec)).status, 'success');
	const later = new Date(Date.now() + 60_000);
	utimesSync(file, later, later);
	const again = await ingest(spec);
	assert.equal(again.ingest?.files.ingested, 1, again.summary);
	assert.equal(await countRows(db, 'trades'), 10);
});

test('a database held by another process: Ingest Files is Blocked and starts no worker; a conflict met by the worker itself is Blocked too', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, 'a.csv'), { rows: 10 });
	const holder = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'write' })]);
	await holder.next('ready', 60_000);
	const blocked = await ingest({ databasePath: db, sources: [join(src, '*.csv')] });
	assert.equal(blocked.status, 'blocked');
	assert.equal(blocked.holder?.pid, holder.pid);
	assert.equal(blocked.jobPid, null, 'no worker started');

	// The race the holder check cannot close (a process taking DuckDB's lock after it): DuckDB's real refusal,
	// as the worker reports it, becomes Blocked with the holder.
	let refusal = '';
	await DuckDBInstance.create(db).then(
		(instance) => instance.closeSync(),
		(error: Error) => (refusal = error.message),
	);
	assert.match(refusal, /Conflicting lock/);
	const raced = withReport({ ...blocked, status: 'failed', jobPid: 1 }, 'ingestFiles', {
		error: `cannot open the database: ${refusal}`,
		phase: 'open',
	} as never);
	assert.equal(raced.status, 'blocked');
	assert.equal(raced.holder?.pid, holder.pid);
	assert.match(raced.summary, new RegExp(`^Blocked: market\\.duckdb is held by PID ${holder.pid}`));
	// The same words from a later step (another file's lock, met by a statement) are a failure, not Blocked.
	const later = withReport({ ...blocked, status: 'failed', jobPid: 1 }, 'runSql', {
		statements: 1,
		statementsRun: 0,
		rowsChanged: 0,
		error: refusal,
	} as never);
	assert.equal(later.status, 'failed');
});

test('progress goes to the log file, one line per file', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, '1.csv'), { rows: 10, start: 1 });
	await writeAggTrades(join(src, '2.csv'), { rows: 10, start: 11 });
	const logFile = join(src, '..', 'ingest.log');
	const outcome = await runIngestFiles(
		{ databasePath: db, sources: [join(src, '*.csv')], table: 'trades' },
		{ logFile },
	);
	assert.equal(outcome.status, 'success', outcome.summary);
	const log = readFileSync(logFile, 'utf8');
	assert.match(log, /\[1\/2\] ingested .*1\.csv: 10 rows/);
	assert.match(log, /\[2\/2\] ingested .*2\.csv: 10 rows/);
});

test('the manifest follows the table: a dropped table is reloaded in full; one file under several spellings is one file', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, 'a.csv'), { rows: 50, start: 1 });
	await writeAggTrades(join(src, 'b.csv'), { rows: 50, start: 51 });
	assert.equal((await ingest({ databasePath: db, sources: [join(src, '*.csv')] })).status, 'success');
	for (const spelling of [`${src}/./*.csv`, `${src}//a.csv`, `${src}/../src/b.csv`]) {
		const again = await ingest({ databasePath: db, sources: [spelling] });
		assert.equal(again.ingest?.files.ingested, 0, `${spelling}: ${again.summary}`);
	}
	assert.equal(await countRows(db, 'trades'), 100, 'no file was appended twice');

	assert.equal((await runSqlScript({ databasePath: db, sql: 'DROP TABLE trades' }, {})).status, 'success');
	const reloaded = await ingest({ databasePath: db, sources: [join(src, '*.csv')] });
	assert.equal(reloaded.status, 'success', reloaded.summary);
	assert.deepEqual([reloaded.ingest?.files.ingested, reloaded.ingest?.tableCreated], [2, true]);
	assert.equal(await countRows(db, 'trades'), 100);
});

test('refusals made before any work create nothing: no database file, no manifest table', async () => {
	const { db, src } = workspace();
	const none = await ingest({ databasePath: db, sources: [join(src, '*.csv')] });
	assert.match(none.summary, /no files match/);
	await writeAggTrades(join(src, 'a.csv'), { rows: 5 });
	const keyless = await ingest({ databasePath: db, sources: [join(src, '*.csv')], mode: 'insertOrIgnore' });
	assert.match(keyless.summary, /insertOrIgnore needs a primary key/);
	assert.equal(existsSync(db), false, 'the database was never created');

	assert.equal(
		(await runSqlScript({ databasePath: db, sql: 'CREATE TABLE trades (agg_trade_id BIGINT)' }, {})).status,
		'success',
	);
	const noKey = await ingest({ databasePath: db, sources: [join(src, '*.csv')], mode: 'upsert' });
	assert.match(noKey.summary, /table trades has no primary key/);
	assert.deepEqual(
		(await query(db, `SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = '${MANIFEST_TABLE}'`))[0].n,
		0n,
		'no manifest table either',
	);

	const wrongKey = await ingest({
		databasePath: db,
		sources: [join(src, '*.csv')],
		table: 'other',
		primaryKey: ['trade_id'],
	});
	assert.equal(wrongKey.status, 'failed');
	assert.match(
		wrongKey.summary,
		/the primary key column trade_id is not in .*a\.csv \(its columns: agg_trade_id, price/,
	);
});

/**
 * The worker run directly on an Ingest Files task, with one of its steps held at its start until SIGTERM arrives (a
 * preload wraps the module export the worker calls): the signal lands in that step every time, not by timing. The
 * worker's own SIGTERM handler was registered first, so it has seen the signal when the step goes on.
 */
async function stopWorkerDuring(
	step: 'listing' | 'opening',
	spec: IngestSpec,
): Promise<{ code: number | null; stderr: string; report: IngestReport }> {
	const folder = join(dir.path, `worker-${++n}`);
	mkdirSync(folder);
	const [module, name] =
		step === 'listing'
			? ['../../lib/operations/ingest-files/sources', 'listSources']
			: ['../../lib/duckdb/sandbox', 'openConfined'];
	const preload = join(folder, 'hold.js');
	writeFileSync(
		preload,
		`const target = require(${JSON.stringify(require.resolve(module))});
const original = target.${name};
target.${name} = async (...args) => {
	if (args[0]?.databasePath !== ':memory:') {
		// The interval keeps the event loop alive (a signal listener does not): the worker must not just exit meanwhile.
		await new Promise((resolve) => {
			const alive = setInterval(() => undefined, 1000);
			process.once('SIGTERM', () => resolve(clearInterval(alive)));
			process.stdout.write('{"event":"held"}\\n');
		});
	}
	return original(...args);
};
`,
	);
	const resolved = resolveIngestSpec(spec);
	const task: WorkerTask = {
		operation: 'ingestFiles',
		spec: resolved,
		access: fileAccessFor(resolved.databasePath, resolved.sources),
	};
	const resultsPath = join(folder, 'results.jsonl');
	writeFileSync(join(folder, 'task.json'), JSON.stringify({ tasks: [task], resultsPath }));
	const worker = new JsonChild(process.execPath, [
		'--require',
		preload,
		require.resolve('../../lib/operations/worker'),
		join(folder, 'task.json'),
	]);
	await worker.next('held', 60_000);
	worker.child.kill('SIGTERM');
	const { code, signal } = await worker.exited;
	const [{ report }] = readResults(resultsPath, 1);
	if (!report) throw new Error(`no report: ${step} exit ${code} ${signal}, ${worker.stderr}`);
	return { code, stderr: worker.stderr, report: report as IngestReport };
}

test('a stop while the worker lists the sources or opens the database: it exits as stopped (143) and writes nothing, not even the manifest', async () => {
	const { db, src } = workspace();
	await writeAggTrades(join(src, 'a.csv'), { rows: 10 });
	const spec = { databasePath: db, sources: [join(src, '*.csv')], table: 'trades' };
	const listing = await stopWorkerDuring('listing', spec);
	assert.equal(listing.code, 143, listing.stderr);
	assert.equal(listing.report.stopped, true);
	assert.deepEqual(listing.report.files, { matched: 1, ingested: 0, skipped: 0, failed: 0, notAttempted: 1 });
	assert.equal(existsSync(db), false, 'the database was not even created');

	// Opening cannot be interrupted (there is no connection yet): the worker checks right after it.
	assert.equal((await runSqlScript({ databasePath: db, sql: 'CREATE TABLE kept (i INTEGER)' }, {})).status, 'success');
	const opening = await stopWorkerDuring('opening', spec);
	assert.equal(opening.code, 143, opening.stderr);
	assert.equal(opening.report.stopped, true);
	assert.equal(opening.report.files.notAttempted, 1);
	const tables = await query(db, 'SELECT table_name FROM duckdb_tables() ORDER BY table_name');
	assert.deepEqual(
		tables.map((row) => row.table_name),
		['kept'],
		'no manifest table, no trades table',
	);
});

test('CSV header detection with known columns: a header line naming them is skipped; a text-only file without one keeps its first row', async () => {
	const { db, src } = workspace();
	writeFileSync(join(src, '1-with-header.csv'), 'name,city\nada,oslo\nbob,rome\n');
	writeFileSync(join(src, '2-without.csv'), 'dan,lima\neve,kyiv\n');
	const outcome = await ingest({
		databasePath: db,
		sources: [join(src, '*.csv')],
		table: 'people',
		columns: [
			{ name: 'name', type: 'VARCHAR' },
			{ name: 'city', type: 'VARCHAR' },
		],
	});
	assert.equal(outcome.status, 'success', outcome.summary);
	const rows = await query(db, 'SELECT name FROM people ORDER BY name');
	assert.deepEqual(
		rows.map((row) => row.name),
		['ada', 'bob', 'dan', 'eve'],
	);
});
