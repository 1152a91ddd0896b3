/**
 * Ingest throughput, side by side in one run: a generated aggTrades CSV (5 million rows by default) loaded through
 * Ingest Files (lock, holder check, worker process, manifest) against the same `INSERT ... SELECT * FROM read_csv`
 * run directly through @duckdb/node-api in a fresh Node process. Rounds alternate; medians are compared.
 * Peak RSS: the worker's and the direct process's (each a separate process holding DuckDB).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runIngestFiles } from '../lib/operations/supervise-worker';
import { parseColumns } from '../lib/operations/spec';
import { AGGTRADES_COLUMNS, writeAggTrades } from '../test/helpers/aggtrades';
import { tempDir } from '../test/helpers/processes';
import { line, median, nowUs } from './stats';

const ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 5_000_000);
const ROUNDS = Number(process.env.BENCH_INGEST_ROUNDS ?? 6);

function fresh(db: string): void {
	for (const suffix of ['', '.wal', '.pid']) rmSync(`${db}${suffix}`, { force: true });
}

export async function benchIngest(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-ingest-');
	try {
		const file = join(dir.path, 'BTCUSDT-aggTrades-bench.csv');
		const started = nowUs();
		await writeAggTrades(file, { rows: ROWS, header: true });
		line('ingest setup', { rows: ROWS, generate_ms: (nowUs() - started) / 1000 });
		const db = join(dir.path, 'bench.duckdb');
		const ours: number[] = [];
		const direct: number[] = [];
		const oursRss: number[] = [];
		const directRss: number[] = [];
		const runDirect = (): void => {
			fresh(db);
			const started = nowUs();
			const reply = JSON.parse(
				execFileSync(process.execPath, [join(__dirname, 'direct-ingest.js'), db, file, AGGTRADES_COLUMNS], {
					encoding: 'utf8',
				}),
			) as { rows: number; peakRssBytes: number };
			direct.push((nowUs() - started) / 1000);
			directRss.push(reply.peakRssBytes);
			if (reply.rows !== ROWS) throw new Error(`direct ingest loaded ${reply.rows} rows`);
		};
		const runOurs = async (): Promise<void> => {
			fresh(db);
			const started = nowUs();
			const outcome = await runIngestFiles(
				{ databasePath: db, sources: [file], table: 'trades', columns: parseColumns(AGGTRADES_COLUMNS) },
				{},
			);
			ours.push((nowUs() - started) / 1000);
			if (outcome.status !== 'success' || outcome.ingest?.rows !== ROWS) throw new Error(outcome.summary);
			oursRss.push(outcome.ingest.peakRssBytes ?? 0);
		};
		// Alternate which goes first, so that neither always runs right after the other's memory was released.
		for (let round = 0; round < ROUNDS; round++) {
			if (round % 2) {
				await runOurs();
				runDirect();
			} else {
				runDirect();
				await runOurs();
			}
		}
		const oursMs = median(ours);
		const directMs = median(direct);
		line('ingest aggTrades CSV', {
			rows: ROWS,
			ingest_files_ms: oursMs,
			direct_insert_ms: directMs,
			ingest_files_rows_per_s: ROWS / (oursMs / 1000),
			direct_rows_per_s: ROWS / (directMs / 1000),
			ratio: directMs / oursMs,
			goal: '>=0.95',
		});
		line('ingest peak RSS', {
			ingest_worker_mb: Math.max(...oursRss) / 2 ** 20,
			direct_process_mb: Math.max(...directRss) / 2 ** 20,
		});
	} finally {
		dir.remove();
	}
}
