/**
 * The built-in operations (Ingest Files, Run SQL) and the Redis lock backend through the node, executed by n8n's real
 * WorkflowExecute; run once per engine line.
 */
// Must come first: for the 1.x line it makes the nodes' `n8n-workflow` the one n8n-core 1.x uses.
import '../helpers/engine-line';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import type { WorkflowNode } from '../helpers/engine';
import { AGGTRADES_COLUMNS, countRows, writeAggTrades } from '../helpers/aggtrades';
import { parseColumns } from '../../lib/operations/spec';
import { nodeBench } from '../helpers/node-bench';
import { args, CLEANUP, connect, ingestNode, json } from '../helpers/workflow';
import { startRedis } from '../helpers/redis';
import { sleep } from '../helpers/processes';
import { RedisLockClient } from '../../lib/lock/redis-client';
import { redisKeyFor } from '../../lib/lock/redis-inspect';

const { line, engine, root } = nodeBench('operations');

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
	assert.deepEqual((report.ingest as IDataObject).files, {
		matched: 2,
		ingested: 2,
		skipped: 0,
		failed: 0,
		notAttempted: 0,
	});
	assert.match(String(report.summary), /^Success: ingested 2 files \(500 rows/);
	assert.deepEqual(first.outputs('Ingest')[0][0].pairedItem, { item: 0 });
	assert.equal(await countRows(db, 'agg_trades'), 500);

	const second = await engine.run({ nodes: [node], connections: connect('Start', 'Ingest') });
	assert.equal(((json(second.outputs('Ingest')[0])[0]?.ingest as IDataObject).files as IDataObject).skipped, 2);

	const outside = mkdtempSync(join(process.env.HOME ?? '/root', '.nodes-test-sources-'));
	try {
		const refused = await engine.run({
			nodes: [ingestNode({ ...node.parameters, sources: { source: [{ path: `${outside}/*.csv` }] } })],
			connections: connect('Start', 'Ingest'),
		});
		assert.equal(refused.status, 'error');
		assert.match(refused.error?.message ?? '', /Access to the source folder .* is not allowed on this n8n instance/);
		// Climbing out after a wildcard: the folder before the wildcard is allowed, the path really names `outside`.
		await writeAggTrades(join(outside, 'BTCUSDT-aggTrades-2024-02-01.csv'), { rows: 10, start: 10_001, header: true });
		const climbing = `${root}/x*/${'../'.repeat(root.split('/').length + 1)}${outside.slice(1)}/*.csv`;
		const climbed = await engine.run({
			nodes: [ingestNode({ ...node.parameters, sources: { source: [{ path: climbing }] } })],
			connections: connect('Start', 'Ingest'),
		});
		assert.equal(climbed.status, 'error', `${climbing} was not refused`);
		assert.match(
			climbed.error?.message ?? '',
			new RegExp(`Access to the source folder ${outside} is not allowed on this n8n instance`),
		);
		assert.equal(await countRows(db, 'agg_trades'), 500, 'nothing from outside was ingested');
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
		nodes: [
			ingestNode({
				operation: 'runSql',
				databasePath: db,
				// An expression (leading =) like users write: the limit comes from the input item.
				sql: `=CREATE TABLE symbols AS SELECT * FROM read_csv('${join(shared, 'symbols.csv')}'); SELECT symbol, tick FROM symbols ORDER BY symbol LIMIT {{ $json.limit }}`,
				returnRows: true,
				rowLimit: 10,
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	assert.deepEqual(
		json(rows.outputs('Ingest')[0]),
		[
			{ symbol: 'BTCUSDT', tick: 0.01 },
			{ symbol: 'ETHUSDT', tick: 0.01 },
		],
		rows.error?.message,
	);
	assert.deepEqual(
		rows.outputs('Ingest')[0].map((entry) => entry.pairedItem),
		[{ item: 0 }, { item: 0 }],
	);

	const escape = await engine.run({
		nodes: [
			ingestNode({
				operation: 'runSql',
				databasePath: db,
				sql: "INSERT INTO symbols VALUES ('X', 1); SELECT * FROM read_csv('/etc/passwd')",
			}),
		],
		connections: connect('Start', 'Ingest'),
	});
	const [failed] = json(escape.outputs('Ingest')[3]);
	assert.equal(failed?.status, 'failed', escape.error?.message);
	assert.match(String(failed.summary), /statement 2: Permission Error: .*rolled back, nothing changed/);
	assert.equal(await countRows(db, 'symbols'), 2);
	assert.equal(existsSync(`${db}.pid`), false);
});

test(`[${line}] Lock Backend Redis: the run holds a Redis lock; Blocked while another holds it; Blocked with the reason when Redis is down; Lock Cleanup reports the Redis holder`, async () => {
	const server = await startRedis();
	try {
		const port = Number(new URL(server.url).port);
		const credentials = {
			duckDbLockRedisApi: { host: '127.0.0.1', port, database: 0, user: '', password: '', ssl: false },
		};
		const withRedis = { credentials: { duckDbLockRedisApi: { id: '2', name: 'lock redis' } } };
		const db = join(root, `redis-${Date.now()}.duckdb`);
		const key = redisKeyFor(db, { url: server.url, key: 'btc-ingest' });
		const node = (parameters: IDataObject): WorkflowNode =>
			ingestNode(
				{
					databasePath: db,
					lockBackend: 'redis',
					options: { redisKey: 'btc-ingest', staleAfterSeconds: 5 },
					...parameters,
				},
				withRedis,
			);

		const running = engine.start({
			nodes: [node({ command: 'sleep', arguments: args('2') })],
			connections: connect('Start', 'Ingest'),
			credentials,
		});
		let held: Awaited<ReturnType<RedisLockClient['read']>>;
		for (let i = 0; i < 250 && !held; i++) {
			await sleep(20);
			held = await RedisLockClient.connect(server.url).then(async (client) => {
				const state = await client.read(key);
				client.close();
				return state;
			});
		}
		assert.equal(held?.holder?.owner.includes('node "Ingest"'), true, 'the Redis holder names the workflow and node');
		const blocked = await engine.run({
			nodes: [node({ command: 'true' })],
			connections: connect('Start', 'Ingest'),
			credentials,
		});
		const [blockedItem] = json(blocked.outputs('Ingest')[1]);
		assert.equal(blockedItem?.status, 'blocked', blocked.error?.message);
		assert.equal((blockedItem.lock as IDataObject).backend, 'redis');

		const cleanup = await engine.run({
			nodes: [
				{
					name: 'Cleanup',
					type: CLEANUP,
					parameters: {
						databasePath: db,
						action: 'inspect',
						lockBackend: 'redis',
						options: { redisKey: 'btc-ingest' },
					},
					...withRedis,
				},
			],
			connections: connect('Start', 'Cleanup'),
			credentials,
		});
		const [report] = json(cleanup.outputs('Cleanup')[2]);
		assert.equal((report?.redis as IDataObject)?.state, 'held', cleanup.error?.message);

		const done = await running.done;
		assert.equal(json(done.outputs('Ingest')[0])[0]?.status, 'success', done.error?.message);

		await server.stop();
		const down = await engine.run({
			nodes: [node({ command: 'true' })],
			connections: connect('Start', 'Ingest'),
			credentials,
		});
		const [downItem] = json(down.outputs('Ingest')[1]);
		assert.match(String(downItem?.summary), /cannot be checked: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unreachable/);
	} finally {
		await server.stop();
	}
});
