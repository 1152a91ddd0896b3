/**
 * Insert Rows throughput, side by side in one run: 200,000 items of the Binance aggTrades shape (as the REST API
 * returns them: a, f, l, T integers, p, q strings, m boolean) into a new table, through Insert Rows (lock, worker
 * process, row file, DuckDB's appender) against a Node script that reads the same NDJSON file, JSON.parses each line
 * and appends the rows with @duckdb/node-api's appender (direct-insert.ts). Also the command line, whole process:
 * `duckdb-safe-ingest --db DB --insert-rows FILE --table T` against the same script, timed from outside.
 * Every side runs as its own child process (so that each peak RSS is that process's own), a fresh database per run;
 * rounds alternate which goes first; medians are compared.
 *   node insert-rows.js child DB FILE TABLE    our side: parse FILE into items (not timed), then time runInsertRows;
 *                                              prints {"rows":N,"ms":N,"peakRssBytes":N,"workerPeakRssBytes":N}
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInsertRows } from '../lib/operations/supervise-worker';
import { BIN } from '../test/helpers/cli';
import { tempDir } from '../test/helpers/processes';
import { line, median, nowUs } from './stats';

const ITEMS = Number(process.env.BENCH_INSERT_ROWS_ITEMS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_INSERT_ROWS_ROUNDS ?? 5);
const TABLE = 'agg_trades';

interface Reply {
	rows: number;
	ms: number;
	peakRssBytes: number;
	workerPeakRssBytes?: number;
}

function fresh(db: string): void {
	for (const suffix of ['', '.wal', '.pid']) rmSync(`${db}${suffix}`, { force: true });
}

/** aggTrades items as GET /api/v3/aggTrades returns them, one JSON object per line. */
function writeItems(file: string, items: number): void {
	const lines: string[] = [];
	for (let i = 0; i < items; i++) {
		const id = 26129 + i;
		lines.push(
			JSON.stringify({
				a: id,
				p: (0.01633102 + (i % 1000) * 0.00000001).toFixed(8),
				q: (((i * 7) % 100000) / 1000 + 0.00443515).toFixed(8),
				f: 27781 + i * 3,
				l: 27781 + i * 3 + (i % 3),
				T: 1498793709153 + i * 10,
				m: i % 2 === 0,
			}),
		);
	}
	writeFileSync(file, `${lines.join('\n')}\n`);
}

function child(script: string, args: string[]): { reply: Reply; wallMs: number } {
	const started = nowUs();
	const reply = JSON.parse(execFileSync(process.execPath, [join(__dirname, script), ...args], { encoding: 'utf8' }));
	return { reply: reply as Reply, wallMs: (nowUs() - started) / 1000 };
}

function cliHasInsertRows(cli: string): boolean {
	const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
	return `${help.stdout}${help.stderr}`.includes('--insert-rows');
}

export async function benchInsertRows(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-insert-rows-');
	try {
		const file = join(dir.path, 'BTCUSDT-aggTrades.ndjson');
		const db = join(dir.path, 'bench.duckdb');
		const cli = join(BIN, 'duckdb-safe-ingest.js');
		const withCli = cliHasInsertRows(cli);
		const started = nowUs();
		writeItems(file, ITEMS);
		line('insert rows setup', { items: ITEMS, generate_ms: (nowUs() - started) / 1000 });
		const ours: number[] = [];
		const script: number[] = [];
		const scriptWall: number[] = [];
		const viaCli: number[] = [];
		const supervisorRss: number[] = [];
		const workerRss: number[] = [];
		const scriptRss: number[] = [];
		const runOurs = (): void => {
			fresh(db);
			const { reply } = child('insert-rows.js', ['child', db, file, TABLE]);
			if (reply.rows !== ITEMS) throw new Error(`Insert Rows inserted ${reply.rows} rows`);
			ours.push(reply.ms);
			supervisorRss.push(reply.peakRssBytes);
			workerRss.push(reply.workerPeakRssBytes ?? 0);
		};
		const runScript = (): void => {
			fresh(db);
			const { reply, wallMs } = child('direct-insert.js', [db, file, TABLE]);
			if (reply.rows !== ITEMS) throw new Error(`the appender script appended ${reply.rows} rows`);
			script.push(reply.ms);
			scriptWall.push(wallMs);
			scriptRss.push(reply.peakRssBytes);
		};
		const runCli = (): void => {
			if (!withCli) return;
			fresh(db);
			const started = nowUs();
			const result = spawnSync(process.execPath, [cli, '--db', db, '--insert-rows', file, '--table', TABLE, '--json'], {
				encoding: 'utf8',
				maxBuffer: 64 * 2 ** 20,
			});
			viaCli.push((nowUs() - started) / 1000);
			const last = result.stdout.trim().split('\n').pop() ?? '';
			const inserted = (JSON.parse(last || '{}') as { insert?: { rows?: { inserted?: number } } }).insert?.rows
				?.inserted;
			if (result.status !== 0 || inserted !== ITEMS)
				throw new Error(`cli --insert-rows: exit ${result.status}, ${inserted} rows: ${result.stderr}`);
		};
		// Rotate which goes first, so that none always runs right after another's memory was released.
		const sides = [runScript, runOurs, runCli];
		for (let round = 0; round < ROUNDS; round++) {
			for (let i = 0; i < sides.length; i++) sides[(round + i) % sides.length]();
		}
		fresh(db);
		const oursMs = median(ours);
		const scriptMs = median(script);
		line(`insert rows ${ITEMS} aggTrades items into a new table`, {
			ours_median_ms: oursMs,
			appender_script_median_ms: scriptMs,
			ratio: scriptMs / oursMs,
			goal: '>=0.5',
			supervisor_peak_rss_mb: Math.max(...supervisorRss) / 2 ** 20,
			worker_peak_rss_mb: Math.max(...workerRss) / 2 ** 20,
			script_peak_rss_mb: Math.max(...scriptRss) / 2 ** 20,
		});
		const name = `cli --insert-rows ${ITEMS} aggTrades items into a new table, whole process`;
		if (!withCli) {
			line(name, { skipped: 'no --insert-rows in this build' });
			return;
		}
		const cliMs = median(viaCli);
		const scriptWallMs = median(scriptWall);
		line(name, {
			cli_median_ms: cliMs,
			appender_script_process_median_ms: scriptWallMs,
			ratio: scriptWallMs / cliMs,
		});
	} finally {
		dir.remove();
	}
}

/** Our side, in its own process: the items in memory as n8n has them (not timed), then Insert Rows timed. */
async function oursChild(db: string, file: string, table: string): Promise<void> {
	const items = readFileSync(file, 'utf8')
		.split('\n')
		.filter((entry) => entry)
		.map((entry) => JSON.parse(entry) as Record<string, unknown>);
	const started = nowUs();
	const outcome = await runInsertRows(items, { databasePath: db, table }, { graceMs: 10_000 });
	const ms = (nowUs() - started) / 1000;
	const rows = outcome.insert?.rows.inserted ?? 0;
	if (outcome.status !== 'success' || rows !== items.length) throw new Error(outcome.summary);
	const reply: Reply = {
		rows,
		ms,
		peakRssBytes: process.resourceUsage().maxRSS * 1024,
		workerPeakRssBytes: outcome.insert?.peakRssBytes,
	};
	process.stdout.write(`${JSON.stringify(reply)}\n`, () => process.exit(0));
}

if (require.main === module && process.argv[2] === 'child') {
	const [db, file, table] = process.argv.slice(3);
	oursChild(db, file, table).catch((error: unknown) => {
		console.error(error);
		process.exit(1);
	});
}
