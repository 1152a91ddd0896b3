#!/usr/bin/env node
// One-off generator for demo/data/*.csv (Binance aggTrades CSV format, with header).
// Deterministic (seeded), so re-running produces identical files.
// Usage: node scripts/e2e/gen-sample-data.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'demo', 'data');
mkdirSync(out, { recursive: true });

let seed = 20240101;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;

const days = ['2024-01-01', '2024-01-02', '2024-01-03'];
const ROWS_PER_DAY = 1000;
let aggId = 3_000_000_000;
let tradeId = 7_000_000_000;
let price = 42_300;
for (const day of days) {
	const start = Date.parse(`${day}T00:00:00Z`);
	const lines = ['agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker'];
	for (let i = 0; i < ROWS_PER_DAY; i++) {
		price = Math.max(1000, price + (rand() - 0.5) * 20);
		const qty = (rand() * 0.5 + 0.00001).toFixed(5);
		const n = 1 + Math.floor(rand() * 4);
		const t = start + Math.floor((i * 86_400_000) / ROWS_PER_DAY + rand() * 50);
		lines.push(
			[aggId++, price.toFixed(2), qty, tradeId, tradeId + n - 1, t, rand() < 0.5 ? 'true' : 'false'].join(','),
		);
		tradeId += n;
	}
	writeFileSync(join(out, `BTCUSDT-aggTrades-${day}.csv`), lines.join('\n') + '\n');
}
console.log(`wrote ${days.length} files x ${ROWS_PER_DAY} rows to ${out}`);
