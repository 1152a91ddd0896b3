/**
 * Insert Rows with real databases: every write mode with overlapping keys (exact rows after), types inferred and
 * given, missing fields as NULL, nested values as JSON, values that do not fit (naming item and field, with nothing
 * or only earlier batches committed), a timeout and a cancel in the middle of a large insert, and Blocked.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { RowFileWriter } from '../../lib/operations/insert-rows/row-file';
import { join } from 'node:path';
import { runInsertRows } from '../../lib/operations/supervise-worker';
import type { InsertSpec } from '../../lib/operations/insert-rows/spec';
import { UsageError } from '../../lib/base/errors';
import { createDatabase, query } from '../helpers/aggtrades';
import { nodeChild, stopAll, tempDir } from '../helpers/processes';

const dir = tempDir();
let n = 0;
afterEach(() => stopAll());
after(() => dir.remove());

function database(): string {
	const root = join(dir.path, `i${++n}`);
	mkdirSync(root, { recursive: true });
	return join(root, 'market.duckdb');
}

type Rows = Array<Record<string, unknown>>;

function insert(
	rows: Iterable<Record<string, unknown>>,
	spec: Omit<InsertSpec, 'rows'>,
	extra: { timeoutMs?: number; signal?: AbortSignal } = {},
) {
	return runInsertRows(rows, spec, { graceMs: extra.timeoutMs ? 1000 : 10_000, ...extra });
}

function* trades(count: number, start = 0): Generator<Record<string, unknown>> {
	for (let i = start; i < start + count; i++)
		yield {
			a: i,
			p: `${40000 + (i % 1000) / 2}`,
			q: '0.5',
			f: i * 3,
			l: i * 3 + 2,
			T: 1700000000000 + i,
			m: i % 2 === 0,
		};
}

const all = (db: string, table: string, order = 'id') => query(db, `SELECT * FROM ${table} ORDER BY ${order}`);

test('append into a new table: types inferred, a missing field is NULL, nested values are JSON', async () => {
	const db = database();
	const rows: Rows = [
		{
			id: 1,
			price: 1.5,
			symbol: 'BTCUSDT',
			ok: true,
			at: '2024-01-02T03:04:05Z',
			day: '2024-01-02',
			meta: { src: 'api' },
		},
		{ id: 2, price: 2, symbol: 'ETHUSDT', ok: false, at: '2024-01-02T03:04:06Z', day: '2024-01-03', meta: [1, 2] },
		{ id: 3, price: 3.25, ok: null, at: '2024-01-02T03:04:07+02:00', day: '2024-01-04' },
	];
	const outcome = await insert(rows, { databasePath: db, table: 'trades' });
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.equal(outcome.operation, 'insertRows');
	assert.deepEqual(outcome.insert?.rows, { inserted: 3, ignored: 0, updated: 0 });
	assert.equal(outcome.insert?.tableCreated, true);
	assert.equal(outcome.insert?.tableRows, 3);
	assert.match(outcome.summary, /Success: 3 rows inserted into trades from 3 items/);
	const types = await query(
		db,
		"SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'trades' ORDER BY column_index",
	);
	assert.deepEqual(
		types.map((row) => `${row.column_name} ${row.data_type}`),
		[
			'id BIGINT',
			'price DOUBLE',
			'symbol VARCHAR',
			'ok BOOLEAN',
			'at TIMESTAMP WITH TIME ZONE',
			'day DATE',
			'meta JSON',
		],
	);
	const stored = await query(
		db,
		'SELECT id, price, symbol, ok, epoch_ms("at") AS at_ms, day::VARCHAR AS day, meta::VARCHAR AS meta FROM trades ORDER BY id',
	);
	assert.deepEqual(stored, [
		{
			id: 1n,
			price: 1.5,
			symbol: 'BTCUSDT',
			ok: true,
			at_ms: 1704164645000n,
			day: '2024-01-02',
			meta: '{"src":"api"}',
		},
		{ id: 2n, price: 2, symbol: 'ETHUSDT', ok: false, at_ms: 1704164646000n, day: '2024-01-03', meta: '[1,2]' },
		{ id: 3n, price: 3.25, symbol: null, ok: null, at_ms: 1704157447000n, day: '2024-01-04', meta: null },
	]);
});

test('columns given win over inference, with a primary key; an existing table keeps its types', async () => {
	const db = database();
	const created = await insert([{ id: '7', price: 10 }], {
		databasePath: db,
		table: 'main.prices',
		columns: [
			{ name: 'id', type: 'INTEGER' },
			{ name: 'price', type: 'DECIMAL(18, 2)' },
			{ name: 'note', type: 'VARCHAR' },
		],
		primaryKey: ['id'],
	});
	assert.equal(created.status, 'success', created.summary);
	const again = await insert([{ id: 8, price: '11.255', note: 42 }], { databasePath: db, table: 'prices' });
	assert.equal(again.status, 'success', again.summary);
	assert.deepEqual(await query(db, 'SELECT id, price::VARCHAR AS price, note FROM prices ORDER BY id'), [
		{ id: 7, price: '10.00', note: null },
		{ id: 8, price: '11.26', note: '42' },
	]);
	const types = await query(
		db,
		"SELECT data_type FROM duckdb_columns() WHERE table_name = 'prices' ORDER BY column_index",
	);
	assert.deepEqual(
		types.map((row) => row.data_type),
		['INTEGER', 'DECIMAL(18,2)', 'VARCHAR'],
	);
});

async function keyed(db: string): Promise<void> {
	await createDatabase(
		db,
		"CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR, w BIGINT); INSERT INTO t VALUES (1, 'old1', 10), (2, 'old2', 20)",
	);
}
/** Keys 2 (in the table), 3 twice and 4: overlapping the table and each other. */
const overlapping: Rows = [
	{ id: 2, v: 'new2', w: 21 },
	{ id: 3, v: 'first3', w: 30 },
	{ id: 3, v: 'second3', w: 31 },
	{ id: 4, v: 'new4' },
];

test('insert or ignore: only new keys, the first item of a key wins; fates name the ignored items', async () => {
	const db = database();
	await keyed(db);
	const outcome = await insert(overlapping, { databasePath: db, table: 't', mode: 'insertOrIgnore', itemFates: true });
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.deepEqual(outcome.insert?.rows, { inserted: 2, ignored: 2, updated: 0 });
	assert.deepEqual(outcome.insert?.ignoredItems, [
		[0, 0],
		[2, 2],
	]);
	assert.deepEqual(await all(db, 't'), [
		{ id: 1n, v: 'old1', w: 10n },
		{ id: 2n, v: 'old2', w: 20n },
		{ id: 3n, v: 'first3', w: 30n },
		{ id: 4n, v: 'new4', w: null },
	]);
});

test('upsert: existing keys updated, the last item of a key wins, columns no item has are kept', async () => {
	const db = database();
	await keyed(db);
	const outcome = await insert(
		overlapping.map(({ id, v }) => ({ id, v })),
		{ databasePath: db, table: 't', mode: 'upsert', itemFates: true },
	);
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.deepEqual(outcome.insert?.rows, { inserted: 2, ignored: 0, updated: 2 });
	assert.deepEqual(outcome.insert?.updatedItems, [
		[0, 0],
		[2, 2],
	]);
	assert.deepEqual(await all(db, 't'), [
		{ id: 1n, v: 'old1', w: 10n },
		{ id: 2n, v: 'new2', w: 20n },
		{ id: 3n, v: 'second3', w: null },
		{ id: 4n, v: 'new4', w: null },
	]);
});

test('append and replace with overlapping keys: append fails on the key (nothing committed), replace empties first', async () => {
	const db = database();
	await keyed(db);
	const appended = await insert(overlapping, { databasePath: db, table: 't' });
	assert.equal(appended.status, 'failed', appended.summary);
	assert.match(appended.summary, /nothing committed/);
	assert.equal((await all(db, 't')).length, 2);
	const replaced = await insert([overlapping[0], overlapping[1], overlapping[3]], {
		databasePath: db,
		table: 't',
		mode: 'replace',
	});
	assert.equal(replaced.status, 'success', replaced.summary);
	assert.deepEqual(await all(db, 't'), [
		{ id: 2n, v: 'new2', w: 21n },
		{ id: 3n, v: 'first3', w: 30n },
		{ id: 4n, v: 'new4', w: null },
	]);
});

test('a value that does not fit fails naming item and field: nothing committed in one transaction', async () => {
	const db = database();
	await keyed(db);
	const rows: Rows = [
		{ id: 5, w: 1 },
		{ id: 6, w: 'lots' },
		{ id: 7, w: 3 },
	];
	const outcome = await insert(rows, { databasePath: db, table: 't' });
	assert.equal(outcome.status, 'failed', outcome.summary);
	assert.deepEqual(outcome.insert?.failedItem, { index: 1, field: 'w' });
	assert.match(outcome.summary, /item 1, field w: .*lots.*; nothing committed/);
	assert.equal(outcome.insert?.landedItems, 0);
	assert.deepEqual(
		(await all(db, 't')).map((row) => row.id),
		[1n, 2n],
	);
	const fraction = await insert([{ id: 8, w: 1.5 }], { databasePath: db, table: 't' });
	assert.equal(fraction.status, 'failed', fraction.summary);
	assert.match(fraction.summary, /item 0, field w: number 1.5 does not fit BIGINT/);
});

test('batch mode: the batches before a bad value stay committed, and the outcome says which items landed', async () => {
	const db = database();
	await createDatabase(
		db,
		'CREATE TABLE agg (a BIGINT, p VARCHAR, q VARCHAR, f BIGINT, l BIGINT, T BIGINT, m BOOLEAN)',
	);
	const rows = [...trades(25)];
	rows[17] = { ...rows[17], f: 'x' };
	const outcome = await insert(rows, { databasePath: db, table: 'agg', batchSize: 10 });
	assert.equal(outcome.status, 'failed', outcome.summary);
	assert.equal(outcome.insert?.landedItems, 10);
	assert.deepEqual(outcome.insert?.batches, { size: 10, total: 3, committed: 1 });
	assert.deepEqual(outcome.insert?.failedItem, { index: 17, field: 'f' });
	assert.match(outcome.summary, /items 0–9 committed \(1 of 3 batches/);
	assert.deepEqual(
		(await all(db, 'agg', 'a')).map((row) => row.a),
		[...Array(10).keys()].map(BigInt),
	);
});

test('fields the table lacks: ignored, added as columns, or failing the run', async () => {
	const db = database();
	await keyed(db);
	const row = { id: 9, extra: 'x', score: 1.5 };
	const ignored = await insert([row], { databasePath: db, table: 't' });
	assert.equal(ignored.status, 'success', ignored.summary);
	assert.deepEqual(ignored.insert?.fieldsIgnored, ['extra', 'score']);
	const failed = await insert([{ ...row, id: 10 }], { databasePath: db, table: 't', missingColumns: 'fail' });
	assert.equal(failed.status, 'failed', failed.summary);
	assert.match(failed.summary, /field extra has no column in table t/);
	const added = await insert([{ ...row, id: 11 }], { databasePath: db, table: 't', missingColumns: 'add' });
	assert.equal(added.status, 'success', added.summary);
	assert.deepEqual(added.insert?.columnsAdded, ['extra', 'score']);
	assert.deepEqual(await query(db, 'SELECT id, extra, score FROM t WHERE id >= 9 ORDER BY id'), [
		{ id: 9n, extra: null, score: null },
		{ id: 11n, extra: 'x', score: 1.5 },
	]);
});

test('nested values refused when asked: the run fails naming the item, and creates nothing', async () => {
	const db = database();
	const outcome = await insert([{ id: 1 }, { id: 2, tags: ['a'] }], { databasePath: db, table: 't', nested: 'refuse' });
	assert.equal(outcome.status, 'failed', outcome.summary);
	assert.match(outcome.summary, /item 1, field tags: an object or array/);
	assert.equal(existsSync(db), true);
	assert.deepEqual(await query(db, 'SELECT table_name FROM duckdb_tables()'), []);
});

test('bad input is refused before anything runs', async () => {
	const db = database();
	await assert.rejects(insert([{ a: 1 }], { databasePath: db, table: 'no such' }), UsageError);
	await assert.rejects(insert([{ a: 1 }], { databasePath: db, table: 't', batchSize: -1 }), UsageError);
	await assert.rejects(insert([{ a: 1 }], { databasePath: db, table: 't', primaryKey: ['b'] }), /in none of the items/);
	assert.equal(existsSync(db), false);
});

/** Rows enough that the insert is still running when it is stopped. */
const LARGE = 1_500_000;

test('a timeout in the middle of a large insert: one transaction keeps nothing, batches keep whole batches', async () => {
	const db = database();
	const whole = await insert(trades(LARGE), { databasePath: db, table: 'agg' }, { timeoutMs: 1500 });
	assert.equal(whole.status, 'timeout', whole.summary);
	assert.equal(whole.insert?.landedItems, 0);
	assert.deepEqual(await query(db, 'SELECT table_name FROM duckdb_tables()'), []);
	const batched = await insert(
		trades(LARGE),
		{ databasePath: db, table: 'agg', batchSize: 50_000 },
		{ timeoutMs: 2500 },
	);
	assert.equal(batched.status, 'timeout', batched.summary);
	const landed = batched.insert!.landedItems;
	assert.ok(landed > 0 && landed < LARGE && landed % 50_000 === 0, `landed ${landed}`);
	const [stored] = await query(db, 'SELECT count(*) AS n, max(a) AS top FROM agg');
	assert.deepEqual(stored, { n: BigInt(landed), top: BigInt(landed - 1) });
});

test('a cancel in the middle of a large upsert rolls it back: the table is as before', async () => {
	const db = database();
	const seeded = await insert(trades(1000), { databasePath: db, table: 'agg', primaryKey: ['a'], mode: 'upsert' });
	assert.equal(seeded.status, 'success', seeded.summary);
	const controller = new AbortController();
	setTimeout(() => controller.abort(), 1500);
	const canceled = await insert(
		[...trades(LARGE)].map((row) => ({ ...row, q: 'changed' })),
		{ databasePath: db, table: 'agg', mode: 'upsert' },
		{ signal: controller.signal },
	);
	assert.equal(canceled.status, 'canceled', canceled.summary);
	assert.deepEqual(await query(db, "SELECT count(*) AS n, count(*) FILTER (q = 'changed') AS changed FROM agg"), [
		{ n: 1000n, changed: 0n },
	]);
});

test('a writer holding the database: Blocked, nothing inserted', async () => {
	const db = database();
	await createDatabase(db, 'CREATE TABLE t (id BIGINT)');
	const holder = nodeChild('duckdb-holder', [JSON.stringify({ db, mode: 'write' })]);
	await holder.next('ready', 60_000);
	const outcome = await insert([{ id: 1 }], { databasePath: db, table: 't' });
	assert.equal(outcome.status, 'blocked', outcome.summary);
	holder.child.kill('SIGTERM');
	await holder.exited;
	assert.deepEqual(await query(db, 'SELECT count(*) AS n FROM t'), [{ n: 0n }]);
});

test("fields that differ only in case (Binance's m and M): the first keeps the column, the other is ignored or refused", async () => {
	const db = database();
	const rows: Rows = [{ a: 1, m: true, M: false }];
	const ignored = await insert(rows, { databasePath: db, table: 'agg' });
	assert.equal(ignored.status, 'success', ignored.summary);
	assert.deepEqual(ignored.insert?.fieldsIgnored, ['M']);
	assert.deepEqual(await query(db, 'SELECT * FROM agg'), [{ a: 1n, m: true }]);
	const again = await insert(rows, { databasePath: db, table: 'agg' });
	assert.equal(again.status, 'success', again.summary);
	assert.deepEqual(again.insert?.fieldsIgnored, ['M']);
	const refused = await insert(rows, { databasePath: db, table: 'agg', missingColumns: 'add' });
	assert.equal(refused.status, 'failed', refused.summary);
	assert.match(refused.summary, /fields m and M differ only in case/);
});

test('a finished row file, disposed, never closes a descriptor number that another file (or a socket) got since', () => {
	const writer = new RowFileWriter();
	writer.add({ a: 1 });
	writer.finish();
	// The number the row file had is free again: the next open gets it (lowest free descriptor).
	const other = openSync(join(dir.path, 'other.txt'), 'w');
	try {
		writer.dispose();
		assert.doesNotThrow(() => fstatSync(other), 'the other file was closed by the row file');
	} finally {
		closeSync(other);
	}
});
