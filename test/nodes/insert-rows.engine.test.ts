/**
 * Insert Rows through the node, executed by n8n's real WorkflowExecute (once per engine line): items in, one run,
 * one outcome paired with every item; the per-item output with each item's fate; columns mapped with expressions;
 * an item whose parameters are bad fails alone with "Continue on fail".
 */
// Must come first: for the 1.x line it makes the nodes' `n8n-workflow` the one n8n-core 1.x uses.
import '../helpers/engine-line';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { query } from '../helpers/aggtrades';
import { nodeBench } from '../helpers/node-bench';
import { connect, ingestNode, json } from '../helpers/workflow';

const { line, engine, root } = nodeBench('insert-rows');

let n = 0;
const database = (): string => {
	const folder = join(root, `insert-${++n}`);
	mkdirSync(folder, { recursive: true });
	return join(folder, 'market.duckdb');
};

/** aggTrades as Binance's REST API returns them. */
const trades = (from: number, count: number): IDataObject[] =>
	Array.from({ length: count }, (_, i) => ({
		a: from + i,
		p: `${40000 + i}.5`,
		q: '0.01',
		f: (from + i) * 3,
		l: (from + i) * 3 + 2,
		T: 1700000000000 + i,
		m: i % 2 === 0,
	}));

test(`[${line}] Insert Rows: all items in one run; re-run with Insert or Ignore adds nothing; one outcome paired with every item`, async () => {
	const db = database();
	const node = ingestNode({
		operation: 'insertRows',
		databasePath: db,
		insertTable: 'agg_trades',
		insertMode: 'insertOrIgnore',
		insertPrimaryKey: 'a',
	});
	const items = trades(1, 50);
	const first = await engine.run({ nodes: [node], connections: connect('Start', 'Ingest'), items });
	const [outcome] = json(first.outputs('Ingest')[0]);
	assert.ok(outcome, first.error?.message);
	assert.equal(json(first.outputs('Ingest')[0]).length, 1);
	assert.equal(outcome.operation, 'insertRows');
	assert.deepEqual((outcome.insert as IDataObject).rows, { inserted: 50, ignored: 0, updated: 0 });
	assert.deepEqual(
		first.outputs('Ingest')[0][0].pairedItem,
		items.map((_, item) => ({ item })),
	);
	const again = await engine.run({ nodes: [node], connections: connect('Start', 'Ingest'), items: trades(41, 20) });
	const [second] = json(again.outputs('Ingest')[0]);
	assert.deepEqual((second.insert as IDataObject).rows, { inserted: 10, ignored: 10, updated: 0 });
	assert.deepEqual(await query(db, 'SELECT count(*) AS n, max(a) AS top FROM agg_trades'), [{ n: 60n, top: 60n }]);
});

test(`[${line}] Insert Rows: columns mapped with expressions, one item per input with its fate, a bad value on Failed`, async () => {
	const db = database();
	const node = ingestNode({
		operation: 'insertRows',
		databasePath: db,
		insertTable: 'prices',
		dataMode: 'defineBelow',
		valuesToSend: {
			values: [
				{ column: 'id', value: '={{ $json.a }}' },
				{ column: 'price', value: '={{ Number($json.p) }}' },
			],
		},
		insertMode: 'upsert',
		insertPrimaryKey: 'id',
		insertOptions: { output: 'perItem' },
	});
	const items = [...trades(1, 3), { a: 2, p: '7' }];
	const run = await engine.run({ nodes: [node], connections: connect('Start', 'Ingest'), items });
	const success = json(run.outputs('Ingest')[0]);
	assert.deepEqual(
		success.map((entry) => entry.fate),
		['inserted', 'inserted', 'inserted', 'updated'],
		run.error?.message,
	);
	assert.deepEqual(await query(db, 'SELECT id, price FROM prices ORDER BY id'), [
		{ id: 1n, price: 40000.5 },
		{ id: 2n, price: 7 },
		{ id: 3n, price: 40002.5 },
	]);
	const bad = await engine.run({
		nodes: [node],
		connections: connect('Start', 'Ingest'),
		items: [
			{ a: 9, p: '1' },
			{ a: 'ten', p: '2' },
		],
	});
	const failed = json(bad.outputs('Ingest')[3]);
	assert.deepEqual(
		failed.map((entry) => entry.fate),
		['notWritten', 'failed'],
	);
	assert.match(String(failed[1].summary), /item 1, field id: .*ten/);
	assert.deepEqual(await query(db, 'SELECT count(*) AS n FROM prices'), [{ n: 3n }]);
});

test(`[${line}] Insert Rows: an item whose table name is bad fails alone with Continue on fail; the others are inserted`, async () => {
	const db = database();
	const node = ingestNode(
		{ operation: 'insertRows', databasePath: db, insertTable: '={{ $json.table }}' },
		{ onError: 'continueRegularOutput' },
	);
	const run = await engine.run({
		nodes: [node],
		connections: connect('Start', 'Ingest'),
		items: [
			{ table: 't', v: 1 },
			{ table: 'bad name', v: 2 },
			{ table: 't', v: 3 },
		],
	});
	const [outcome] = json(run.outputs('Ingest')[0]);
	assert.ok(outcome, run.error?.message);
	assert.deepEqual(run.outputs('Ingest')[0][0].pairedItem, [{ item: 0 }, { item: 2 }]);
	assert.match(String(json(run.outputs('Ingest')[3])[0]?.error), /"bad name" is not a table name/);
	assert.deepEqual(await query(db, 'SELECT "table", v FROM t ORDER BY v'), [
		{ table: 't', v: 1n },
		{ table: 't', v: 3n },
	]);
});
