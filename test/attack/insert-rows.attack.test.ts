/**
 * Insert Rows attack tests: item field names and values come from anywhere (an API, a webhook), so they are data,
 * never SQL: a field name that tries to close the identifier and run a statement becomes a column with that odd
 * name, a value that looks like SQL is stored as text, and a table name with SQL in it is refused before anything runs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runInsertRows } from '../../lib/operations/supervise-worker';
import { UsageError } from '../../lib/base/errors';
import { createDatabase, query } from '../helpers/aggtrades';
import { tempDir } from '../helpers/processes';

const dir = tempDir();
after(() => dir.remove());

test('field names and values with SQL in them are stored as data; a table name with SQL is refused', async () => {
	const root = join(dir.path, 'insert');
	mkdirSync(root);
	const db = join(root, 'market.duckdb');
	await createDatabase(db, 'CREATE TABLE keep (i INTEGER); INSERT INTO keep VALUES (1)');
	const evil = 'x" BIGINT); DROP TABLE keep; CREATE TABLE pwned ("y';
	const outcome = await runInsertRows(
		[{ [evil]: "'); DROP TABLE keep; --", ok: 1 }],
		{ databasePath: db, table: 'rows', missingColumns: 'add' },
		{ graceMs: 10_000 },
	);
	assert.equal(outcome.status, 'success', outcome.summary);
	const tables = await query(db, 'SELECT table_name FROM duckdb_tables() ORDER BY table_name');
	assert.deepEqual(
		tables.map((row) => row.table_name),
		['keep', 'rows'],
	);
	assert.deepEqual(await query(db, 'SELECT * FROM rows'), [{ [evil]: "'); DROP TABLE keep; --", ok: 1n }]);
	await assert.rejects(
		runInsertRows([{ a: 1 }], { databasePath: db, table: 'rows; DROP TABLE keep' }, { graceMs: 10_000 }),
		UsageError,
	);
	assert.deepEqual(await query(db, 'SELECT i FROM keep'), [{ i: 1 }]);
});
