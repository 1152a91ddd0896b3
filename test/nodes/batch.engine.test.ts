/**
 * Many items, one worker: the Run SQL items of one execution on one database share one lock and one worker, and
 * each keeps its own transaction, outcome and pairedItem; a timeout or a cancel still stops the worker at once.
 * Executed by n8n's real WorkflowExecute; run once per engine line.
 */
// Must come first: for the 1.x line it makes the nodes' `n8n-workflow` the one n8n-core 1.x uses.
import '../helpers/engine-line';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { nodeBench } from '../helpers/node-bench';
import { connect, ingestNode, json } from '../helpers/workflow';
import { createDatabase, query } from '../helpers/aggtrades';
import { assertJobGoneAndUnlocked, recordedJob } from '../helpers/jobs';
import { sleep } from '../helpers/processes';

const { line, engine, freshDb, root } = nodeBench('batch');
const OUTPUT = { success: 0, blocked: 1, timeout: 2, failed: 3 };
/** A query that runs for hours unless interrupted. */
const HANG = 'SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b';

const tables = (db: string): Promise<void> =>
	createDatabase(db, 'CREATE TABLE t (i INTEGER PRIMARY KEY); CREATE TABLE log (i INTEGER)');

const values = async (db: string, table: string): Promise<number[]> =>
	(await query(db, `SELECT i FROM ${table} ORDER BY i`)).map((row) => Number(row.i));

const paired = (items: Array<{ pairedItem?: unknown }> | undefined): unknown[] =>
	(items ?? []).map((entry) => entry.pairedItem);

test(`[${line}] items on one database share one worker, each in its own transaction: item 3 failing leaves 1-2 committed and 4-5 run; pairedItem kept`, async () => {
	const db = freshDb();
	await tables(db);
	const run = await engine.run({
		items: [{ v: 1 }, { v: 2 }, { v: 1, bad: true }, { v: 4 }, { v: 5 }],
		nodes: [
			ingestNode({
				operation: 'runSql',
				databasePath: db,
				// Item 3 writes the log first, then breaks the key: its whole transaction must go.
				sql: '=INSERT INTO log VALUES ({{ $json.bad ? 3 : $json.v }}); INSERT INTO t VALUES ({{ $json.v }})',
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	const outputs = run.outputs('Ingest');
	assert.deepEqual(paired(outputs[OUTPUT.success]), [{ item: 0 }, { item: 1 }, { item: 3 }, { item: 4 }]);
	assert.deepEqual(paired(outputs[OUTPUT.failed]), [{ item: 2 }]);
	const [failed] = json(outputs[OUTPUT.failed]);
	assert.match(String(failed.error), /Constraint|Duplicate key/i);
	assert.equal(failed.status, 'failed');
	assert.deepEqual(await values(db, 't'), [1, 2, 4, 5]);
	assert.deepEqual(await values(db, 'log'), [1, 2, 4, 5], "item 3's first statement was rolled back with it");
	const all = [...json(outputs[OUTPUT.success]), failed];
	assert.equal(new Set(all.map((outcome) => outcome.jobPid)).size, 1, 'one worker ran every item');
	assert.deepEqual(
		all.map((outcome) => (outcome.batch as IDataObject).position).sort(),
		[1, 2, 3, 4, 5],
		'each outcome says its place',
	);
	for (const outcome of json(outputs[OUTPUT.success])) {
		assert.equal(outcome.exitCode, 0);
		assert.equal((outcome.sql as IDataObject).statements, 2);
	}
	assert.equal(existsSync(`${db}.pid`), false, 'the lock is released');
});

test(`[${line}] each item gets the whole timeout: the one that runs past it goes to Timeout, the items after it run on in a new worker`, async () => {
	const db = freshDb();
	await tables(db);
	const run = await engine.run({
		items: [{ sql: 'INSERT INTO t VALUES (1)' }, { sql: HANG }, { sql: 'INSERT INTO t VALUES (3)' }],
		nodes: [
			ingestNode({
				operation: 'runSql',
				databasePath: db,
				sql: '={{ $json.sql }}',
				timeoutMinutes: 0.1,
				graceSeconds: 2,
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	const outputs = run.outputs('Ingest');
	assert.deepEqual(paired(outputs[OUTPUT.success]), [{ item: 0 }, { item: 2 }], run.error?.message);
	assert.deepEqual(paired(outputs[OUTPUT.timeout]), [{ item: 1 }]);
	const [timedOut] = json(outputs[OUTPUT.timeout]);
	assert.match(String(timedOut.error), /item 2 of 3 was stopped while it ran/);
	assert.deepEqual(await values(db, 't'), [1, 3]);
	const [first, third] = json(outputs[OUTPUT.success]);
	assert.notEqual(first.jobPid, third.jobPid, 'the items after the timeout ran in a new worker');
	await assertJobGoneAndUnlocked(Number(first.jobPid), db);
});

test(`[${line}] items share a worker, not a session: a USE, a variable or a temp table of one item never reaches the next; each item's tails hold its own lines`, async () => {
	const db = freshDb();
	await tables(db);
	const run = await engine.run({
		items: [
			{ sql: "CREATE SCHEMA s; USE s; SET VARIABLE v = 'item-one-secret'; CREATE TEMP TABLE tt AS SELECT 1 AS x" },
			{ sql: 'SELECT * FROM no_such_table_item_two_marker' },
			{
				sql: "CREATE TABLE placed (i INTEGER); SELECT getvariable('v') AS v, (SELECT count(*) FROM duckdb_tables() WHERE temporary) AS temps, (SELECT schema_name FROM duckdb_tables() WHERE table_name = 'placed') AS place",
			},
		],
		nodes: [ingestNode({ operation: 'runSql', databasePath: db, sql: '={{ $json.sql }}', returnRows: true })],
		connections: connect('Start', 'Ingest'),
	});
	const outputs = run.outputs('Ingest');
	const success = json(outputs[OUTPUT.success]);
	assert.deepEqual(paired(outputs[OUTPUT.success]), [{ item: 0 }, { item: 2 }], run.error?.message);
	assert.deepEqual(success[1], { v: null, temps: 0, place: 'main' }, 'item 3 saw nothing of item 1');
	const [failed] = json(outputs[OUTPUT.failed]);
	assert.match(String(failed.error), /no_such_table_item_two_marker/);
	const tails = (outcome: IDataObject): string => JSON.stringify(outcome.output);
	assert.match(tails(failed), /no_such_table_item_two_marker/);
	assert.doesNotMatch(tails(success[0]), /no_such_table_item_two_marker/, "item 2's error is not in item 1's tails");
});

test(`[${line}] a cancel during the batch stops the worker and releases the lock; no item is left canceled`, async () => {
	const db = freshDb();
	await tables(db);
	const execution = engine.start({
		items: [{ sql: 'INSERT INTO t VALUES (1)' }, { sql: HANG }, { sql: 'INSERT INTO t VALUES (3)' }],
		nodes: [ingestNode({ operation: 'runSql', databasePath: db, sql: '={{ $json.sql }}', graceSeconds: 2 })],
		connections: connect('Start', 'Ingest'),
	});
	const jobPid = (await recordedJob(db)).pid;
	// Item 1's commit writes the WAL (the database is not opened meanwhile: that would take its lock); item 2 hangs.
	const wal = `${db}.wal`;
	for (let i = 0; i < 1000 && !(existsSync(wal) && statSync(wal).size > 0); i++) await sleep(20);
	assert.ok(existsSync(wal), 'item 1 committed');
	execution.cancel();
	const run = await execution.done;
	assert.equal(run.status, 'canceled');
	await assertJobGoneAndUnlocked(jobPid, db);
	assert.ok(
		!run
			.outputs('Ingest')
			.flat()
			.some((entry) => entry.json.status === 'canceled'),
	);
	assert.deepEqual(await values(db, 't'), [1], 'item 3 never ran');
});

test(`[${line}] different databases each get their own lock and worker, in item order`, async () => {
	const [a, b] = [freshDb(), freshDb()];
	await tables(a);
	await tables(b);
	const run = await engine.run({
		items: [
			{ db: a, v: 1 },
			{ db: a, v: 2 },
			{ db: b, v: 3 },
		],
		nodes: [
			ingestNode({
				operation: 'runSql',
				databasePath: '={{ $json.db }}',
				sql: '=INSERT INTO t VALUES ({{ $json.v }})',
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	const success = run.outputs('Ingest')[OUTPUT.success];
	assert.deepEqual(paired(success), [{ item: 0 }, { item: 1 }, { item: 2 }], run.error?.message);
	const [first, second, third] = json(success);
	assert.equal(first.jobPid, second.jobPid);
	assert.notEqual(third.jobPid, first.jobPid);
	assert.deepEqual((first.batch as IDataObject).items, 2);
	assert.equal(third.batch, undefined, 'a single item runs as before');
	assert.deepEqual(await values(a, 't'), [1, 2]);
	assert.deepEqual(await values(b, 't'), [3]);
});

test(`[${line}] a cancel while waiting items run (a later item's check failed) stops the execution, even with Continue on Fail`, async () => {
	const db = freshDb();
	await tables(db);
	const execution = engine.start({
		items: [
			{ db, sql: HANG },
			{ db: `${db}-missing-folder/x.duckdb`, sql: 'SELECT 1' },
		],
		nodes: [
			ingestNode(
				{ operation: 'runSql', databasePath: '={{ $json.db }}', sql: '={{ $json.sql }}', graceSeconds: 2 },
				{ onError: 'continueRegularOutput' },
			),
		],
		connections: connect('Start', 'Ingest'),
	});
	const jobPid = (await recordedJob(db)).pid;
	execution.cancel();
	const run = await execution.done;
	assert.equal(run.status, 'canceled');
	const items = run.outputs('Ingest').flat();
	assert.ok(
		!items.some((entry) => /Execution canceled/.test(String(entry.json.error ?? ''))),
		`the cancel became an item: ${JSON.stringify(items.map((entry) => entry.json))}`,
	);
	await assertJobGoneAndUnlocked(jobPid, db);
});

test(`[${line}] a path is never remembered across executions: a folder link repointed outside the allowed folder between two executions is refused`, async (t) => {
	const inside = join(root, `real-${Date.now()}`);
	const outside = mkdtempSync(join(tmpdir(), 'batch-outside-'));
	t.after(() => rmSync(outside, { recursive: true, force: true }));
	mkdirSync(inside);
	const link = join(root, `link-${Date.now()}`);
	symlinkSync(inside, link);
	const execution = () =>
		engine.run({
			items: [{ v: 1 }, { v: 2 }],
			nodes: [ingestNode({ operation: 'runSql', databasePath: join(link, 'db.duckdb'), sql: 'SELECT 1' })],
			connections: connect('Start', 'Ingest'),
		});
	const first = await execution();
	assert.equal(first.outputs('Ingest')[OUTPUT.success]?.length, 2, first.error?.message);
	unlinkSync(link);
	symlinkSync(outside, link);
	const second = await execution();
	assert.match(second.error?.message ?? '', /not allowed on this n8n instance/);
	assert.ok(!existsSync(join(outside, 'db.duckdb')), 'nothing was created outside');
});

test(`[${line}] a path is resolved anew after anything ran: a folder replaced by a link to outside by an earlier item's job is refused to the next item`, async (t) => {
	const folder = join(root, `folder-${Date.now()}`);
	const outside = mkdtempSync(join(tmpdir(), 'batch-outside-'));
	t.after(() => rmSync(outside, { recursive: true, force: true }));
	mkdirSync(folder);
	const swap = `mv '${folder}' '${folder}.old' && ln -s '${outside}' '${folder}'`;
	const run = await engine.run({
		items: [{ script: swap }, { script: 'true' }],
		nodes: [
			ingestNode({
				operation: 'runCommand',
				databasePath: join(folder, 'db.duckdb'),
				command: 'sh',
				arguments: { argument: [{ value: '-c' }, { value: '={{ $json.script }}' }] },
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	assert.match(run.error?.message ?? '', /not allowed on this n8n instance/, 'the second item is refused');
	assert.deepEqual(readdirSync(outside), [], 'no lock was taken outside');
});
