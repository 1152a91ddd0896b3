/**
 * The built-in operations (Ingest Files, Run SQL) through the node, inside the engine line under test: part of the
 * node suite, sharing its temporary root (the folder N8N_RESTRICT_FILE_ACCESS_TO allows).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import type { Engine, EngineLine } from './engine';
import { AGGTRADES_COLUMNS, countRows, writeAggTrades } from './aggtrades';
import { parseColumns } from '../../lib/ingest/spec';
import { connect, ingestNode, json } from './workflow';

export function defineOperationCases(line: EngineLine, engine: Engine, root: string): void {
	let n = 0;
	const workspace = (): { db: string; src: string } => {
		const folder = join(root, `operations-${++n}`);
		mkdirSync(join(folder, 'src'), { recursive: true });
		return { db: join(folder, 'market.duckdb'), src: join(folder, 'src') };
	};

	test(`[${line}] Ingest Files: files land in the table with a report on Success; the next execution skips them; sources outside the allowed folders are refused`, async () => {
		const { db, src } = workspace();
		await writeAggTrades(join(src, 'BTCUSDT-aggTrades-2024-01-01.csv'), { rows: 300, start: 1, header: true });
		await writeAggTrades(join(src, 'BTCUSDT-aggTrades-2024-01-02.csv'), { rows: 200, start: 301, header: false });
		const columns = { column: parseColumns(AGGTRADES_COLUMNS) };
		const node = ingestNode({
			operation: 'ingestFiles',
			databasePath: db,
			sources: { source: [{ path: `${src}/BTCUSDT-aggTrades-*.csv` }] },
			table: 'agg_trades',
			writeMode: 'insertOrIgnore',
			primaryKey: 'agg_trade_id',
			columns,
			options: { threads: 2 },
		});
		const first = await engine.run({ nodes: [node], connections: connect('Start', 'Ingest') });
		const [report] = json(first.outputs('Ingest')[0]);
		assert.ok(report, first.error?.message);
		assert.equal(report.operation, 'ingestFiles');
		assert.deepEqual((report.ingest as IDataObject).files, { matched: 2, ingested: 2, skipped: 0, failed: 0, notAttempted: 0 });
		assert.match(String(report.summary), /^Success: ingested 2 files \(500 rows/);
		assert.deepEqual(first.outputs('Ingest')[0][0].pairedItem, { item: 0 });
		assert.equal(await countRows(db, 'agg_trades'), 500);

		const second = await engine.run({ nodes: [node], connections: connect('Start', 'Ingest') });
		assert.equal(((json(second.outputs('Ingest')[0])[0]?.ingest as IDataObject).files as IDataObject).skipped, 2);

		const outside = mkdtempSync(join(process.env.HOME ?? '/root', '.nodes-test-sources-'));
		try {
			const refused = await engine.run({ nodes: [ingestNode({ ...node.parameters, sources: { source: [{ path: `${outside}/*.csv` }] } })], connections: connect('Start', 'Ingest') });
			assert.equal(refused.status, 'error');
			assert.match(refused.error?.message ?? '', /Access to the source folder .* is not allowed on this n8n instance/);
		} finally {
			rmSync(outside, { recursive: true, force: true });
		}
	});

	test(`[${line}] Run SQL: the last query's rows become items; the instance's allowed folders are readable; escapes go to Failed`, async () => {
		const { db } = workspace();
		const shared = join(root, `shared-${n}`);
		mkdirSync(shared);
		writeFileSync(join(shared, 'symbols.csv'), 'symbol,tick\nBTCUSDT,0.01\nETHUSDT,0.01\n');
		const rows = await engine.run({
			items: [{ limit: 2 }],
			nodes: [ingestNode({
				operation: 'runSql',
				databasePath: db,
				// An expression (leading =) like users write: the limit comes from the input item.
				sql: `=CREATE TABLE symbols AS SELECT * FROM read_csv('${join(shared, 'symbols.csv')}'); SELECT symbol, tick FROM symbols ORDER BY symbol LIMIT {{ $json.limit }}`,
				returnRows: true,
				rowLimit: 10,
			})],
			connections: connect('Start', 'Ingest'),
		});
		assert.deepEqual(json(rows.outputs('Ingest')[0]), [{ symbol: 'BTCUSDT', tick: 0.01 }, { symbol: 'ETHUSDT', tick: 0.01 }], rows.error?.message);
		assert.deepEqual(rows.outputs('Ingest')[0].map((entry) => entry.pairedItem), [{ item: 0 }, { item: 0 }]);

		const escape = await engine.run({ nodes: [ingestNode({ operation: 'runSql', databasePath: db, sql: "INSERT INTO symbols VALUES ('X', 1); SELECT * FROM read_csv('/etc/passwd')" })], connections: connect('Start', 'Ingest') });
		const [failed] = json(escape.outputs('Ingest')[3]);
		assert.equal(failed?.status, 'failed', escape.error?.message);
		assert.match(String(failed.summary), /statement 2: Permission Error: .*rolled back, nothing changed/);
		assert.equal(await countRows(db, 'symbols'), 2);
		assert.equal(existsSync(`${db}.pid`), false);
	});
}
