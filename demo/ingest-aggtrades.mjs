#!/usr/bin/env node
// Demo ingestion job for n8n-nodes-duckdb-safe-ingest: no Python needed.
//
// Loads Binance aggTrades CSV files (data.binance.vision format:
// agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker)
// named <SYMBOL>-aggTrades-<YYYY-MM-DD>.csv from --data-dir into table agg_trades
// of the DuckDB file --db, in batches, sleeping --throttle-ms between batches.
//
//   node ingest-aggtrades.mjs --symbol BTCUSDT --db /data/x.duckdb \
//     [--data-dir <dir, default: demo/data next to this script>] \
//     [--mode incremental|full] [--start-date 2024-01-01] [--end-date 2024-01-03] \
//     [--throttle-ms 100] [--batch-size 250] [--hang] [--fail]
//
// --hang: load the first file (committed, still in the WAL), then sleep forever
//         with the database open (simulates a stuck job).
// --fail: print an error to stderr and exit 2 (simulates a broken job).
// Re-runs are idempotent: rows of the loaded dates are replaced.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Resolved relative to this script: works in the repo and in an installed package.
const require = createRequire(import.meta.url);
const { DuckDBInstance } = require('@duckdb/node-api');

function parseArgs(argv) {
	const opts = {
		mode: 'incremental',
		dataDir: join(here, 'data'),
		throttleMs: 0,
		batchSize: 250,
		hang: false,
		fail: false,
	};
	const takes = {
		'--symbol': 'symbol',
		'--data-dir': 'dataDir',
		'--db': 'db',
		'--mode': 'mode',
		'--start-date': 'startDate',
		'--end-date': 'endDate',
		'--throttle-ms': 'throttleMs',
		'--batch-size': 'batchSize',
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
		if (flag === '--hang') opts.hang = true;
		else if (flag === '--fail') opts.fail = true;
		else if (takes[flag]) {
			const v = inline ?? argv[++i];
			if (v === undefined) throw new Error(`${flag} needs a value`);
			opts[takes[flag]] = v;
		} else throw new Error(`unknown argument: ${a}`);
	}
	opts.throttleMs = Number(opts.throttleMs);
	opts.batchSize = Number(opts.batchSize);
	if (!opts.db) throw new Error('--db is required');
	if (!opts.symbol) throw new Error('--symbol is required');
	if (!['incremental', 'full'].includes(opts.mode))
		throw new Error(`--mode must be incremental or full (got ${opts.mode})`);
	if (!Number.isFinite(opts.throttleMs) || opts.throttleMs < 0) throw new Error('--throttle-ms must be >= 0');
	if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1)
		throw new Error('--batch-size must be a positive integer');
	for (const k of ['startDate', 'endDate'])
		if (opts[k] && !/^\d{4}-\d{2}-\d{2}$/.test(opts[k]))
			throw new Error(`--${k === 'startDate' ? 'start' : 'end'}-date must be YYYY-MM-DD`);
	return opts;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`[ingest-aggtrades ${new Date().toISOString()}] ${msg}`);

async function main() {
	const opts = parseArgs(process.argv.slice(2));
	if (opts.fail) {
		// Like many real scripts, it names the key it used in its error (the node masks credential values in output).
		const key = process.env.BINANCE_API_KEY ? ` (API key ${process.env.BINANCE_API_KEY})` : '';
		console.error(`ingest-aggtrades: simulated failure for ${opts.symbol} (--fail): upstream returned HTTP 503${key}`);
		process.exit(2);
	}
	const dataDir = resolve(opts.dataDir);
	const pattern = new RegExp(`^${opts.symbol}-aggTrades-(\\d{4}-\\d{2}-\\d{2})\\.csv$`);
	const files = readdirSync(dataDir)
		.map((f) => ({ f, m: pattern.exec(f) }))
		.filter(({ m }) => m && (!opts.startDate || m[1] >= opts.startDate) && (!opts.endDate || m[1] <= opts.endDate))
		.sort((a, b) => a.m[1].localeCompare(b.m[1]));
	log(`pid ${process.pid}: ${files.length} file(s) for ${opts.symbol} in ${dataDir}, db ${opts.db}, mode ${opts.mode}`);

	const instance = await DuckDBInstance.create(opts.db);
	const conn = await instance.connect();
	const hangForever = () => {
		log('--hang: database open, sleeping forever');
		setInterval(() => {}, 1 << 30);
		return new Promise(() => {});
	};
	// Keep small commits in the WAL (as a real long job would) until the final CHECKPOINT.
	await conn.run("SET checkpoint_threshold = '1GB'");
	if (opts.hang && files.length === 0) return hangForever();
	if (opts.mode === 'full') await conn.run('DROP TABLE IF EXISTS agg_trades');
	await conn.run(`CREATE TABLE IF NOT EXISTS agg_trades (
    symbol VARCHAR, agg_trade_id BIGINT, price DOUBLE, quantity DOUBLE,
    first_trade_id BIGINT, last_trade_id BIGINT, transact_time TIMESTAMP, is_buyer_maker BOOLEAN, trade_date DATE)`);
	let total = 0;
	for (const { f, m } of files) {
		const day = m[1];
		const lines = readFileSync(join(dataDir, f), 'utf8')
			.split('\n')
			.filter((l) => l && /^\d/.test(l));
		await conn.run('BEGIN TRANSACTION');
		await conn.run(
			`DELETE FROM agg_trades WHERE symbol = '${opts.symbol.replace(/'/g, "''")}' AND trade_date = DATE '${day}'`,
		);
		for (let i = 0; i < lines.length; i += opts.batchSize) {
			const values = lines.slice(i, i + opts.batchSize).map((l) => {
				const [id, price, qty, first, last, time, maker] = l.split(',');
				const nums = [id, price, qty, first, last, time].map(Number);
				if (nums.some((n) => !Number.isFinite(n))) throw new Error(`bad row in ${f}: ${l}`);
				return `('${opts.symbol}', ${id}, ${price}, ${qty}, ${first}, ${last}, make_timestamp(${time}::BIGINT * 1000), ${maker === 'true'}, DATE '${day}')`;
			});
			await conn.run(`INSERT INTO agg_trades VALUES ${values.join(',')}`);
			total += values.length;
			if (opts.throttleMs > 0) await sleep(opts.throttleMs);
		}
		await conn.run('COMMIT');
		log(`${f}: ${lines.length} rows`);
		// --hang: stop after the first committed file (left in the WAL), like a job stuck mid-run.
		if (opts.hang) return hangForever();
	}
	const reader = await conn.runAndReadAll('SELECT count(*)::INTEGER FROM agg_trades');
	const count = reader.getRows()[0][0];
	await conn.run('CHECKPOINT');
	conn.closeSync();
	instance.closeSync();
	log(`done: ${total} rows loaded, agg_trades now holds ${count} rows`);
}

main().catch((err) => {
	console.error(`ingest-aggtrades: ${err && err.stack ? err.stack : err}`);
	process.exit(1);
});
