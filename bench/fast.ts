/**
 * The fast paths, side by side in one run (issue 16):
 * - a run on an existing database inside one long-lived process (as in n8n), in this PID namespace and in a new one
 *   (`unshare`, as n8n in a container), against a bare spawn of `true` in the same process;
 * - the command line, whole process: `duckdb-safe-ingest --db EXISTING -- true` against
 *   `node -e "require('child_process').spawnSync('true')"`, and `--sql` with one INSERT against a Node script that
 *   opens the same file and runs the same INSERT;
 * - many items: one node execution of N Run SQL items (one INSERT each) against the same N statements, each in its
 *   own transaction, on one in-process DuckDB connection.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { BIN } from '../test/helpers/cli';
import { tempDir } from '../test/helpers/processes';
import { line, median, nowUs } from './stats';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 1000);

function timedMs(file: string, args: string[]): number {
	const started = nowUs();
	const result = spawnSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
	if (result.status !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${result.status} ${String(result.stderr)}`);
	return (nowUs() - started) / 1000;
}

function alternate(rounds: number, a: () => number, b: () => number): [number, number] {
	const as: number[] = [];
	const bs: number[] = [];
	for (let i = 0; i < rounds; i++) {
		as.push(a());
		bs.push(b());
	}
	return [median(as), median(bs)];
}

function overhead(db: string, prefix: string[]): { supervisedMs: number; bareMs: number } {
	const argv = [...prefix, process.execPath, join(__dirname, 'overhead-actor.js'), db, '60'];
	return JSON.parse(execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' })) as never;
}

function benchInProcess(db: string): void {
	const here = overhead(db, []);
	line('run overhead (true) on an existing database, in the initial PID namespace', {
		supervised_median_ms: here.supervisedMs,
		bare_spawn_median_ms: here.bareMs,
		added_ms: here.supervisedMs - here.bareMs,
		goal: '<=5ms',
	});
	const unshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']);
	if (unshare.status !== 0) {
		line('run overhead (true) on an existing database, in a container', { skipped: 'needs unshare --pid (root)' });
		return;
	}
	const there = overhead(db, ['unshare', '--pid', '--fork', '--mount-proc']);
	line('run overhead (true) on an existing database, in a container (own PID namespace)', {
		supervised_median_ms: there.supervisedMs,
		bare_spawn_median_ms: there.bareMs,
		added_ms: there.supervisedMs - there.bareMs,
		goal: '<=10ms',
	});
}

function benchCli(dir: string, db: string): void {
	const cli = join(BIN, 'duckdb-safe-ingest.js');
	const [ours, bare] = alternate(
		15,
		() => timedMs(process.execPath, [cli, '--db', db, '--', 'true']),
		() => timedMs(process.execPath, ['-e', "require('child_process').spawnSync('true')"]),
	);
	line('cli run (true) on an existing database, whole process', {
		cli_median_ms: ours,
		node_spawnSync_true_median_ms: bare,
		ratio: ours / bare,
		goal: '<=1.5x',
	});
	const sql = join(dir, 'one-insert.sql');
	const insert = "INSERT INTO items VALUES (1, 'one')";
	writeFileSync(sql, insert);
	const direct = join(__dirname, 'direct-sql.js');
	const [viaCli, viaScript] = alternate(
		10,
		() => timedMs(process.execPath, [cli, '--db', db, '--sql', sql]),
		() => timedMs(process.execPath, [direct, 'once', db, insert]),
	);
	line('cli --sql one INSERT on an existing database, whole process', {
		cli_median_ms: viaCli,
		node_script_median_ms: viaScript,
		ratio: viaCli / viaScript,
	});
}

async function benchItems(dir: string): Promise<void> {
	process.env.N8N_RESTRICT_FILE_ACCESS_TO = dir;
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { loadEngine } = require('../test/helpers/engine') as typeof import('../test/helpers/engine');
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { connect, ingestNode } = require('../test/helpers/workflow') as typeof import('../test/helpers/workflow');
	const engine = loadEngine('v2');
	const db = join(dir, 'items.duckdb');
	const baseline = join(dir, 'baseline.duckdb');
	execFileSync(process.execPath, [join(__dirname, 'direct-sql.js'), 'each', db, '0']);
	const nodeRun = async (): Promise<number> => {
		const started = nowUs();
		const run = await engine.run({
			items: Array.from({ length: ITEMS }, (_, i) => ({ i })),
			nodes: [
				ingestNode({
					operation: 'runSql',
					databasePath: db,
					sql: "=INSERT INTO items VALUES ({{ $json.i }}, 'item {{ $json.i }}')",
				}),
			],
			connections: connect('Start', 'Ingest'),
		});
		const ms = (nowUs() - started) / 1000;
		const succeeded = run.outputs('Ingest')[0]?.length ?? 0;
		if (succeeded !== ITEMS) throw new Error(`only ${succeeded} of ${ITEMS} items succeeded: ${run.error?.message}`);
		return ms;
	};
	const inProcess = (): number =>
		(
			JSON.parse(
				execFileSync(process.execPath, [join(__dirname, 'direct-sql.js'), 'each', baseline, String(ITEMS)], {
					encoding: 'utf8',
				}),
			) as { ms: number }
		).ms;
	// Alternating rounds, medians: one round on a busy machine says little.
	const nodeMs: number[] = [];
	const inProcessMs: number[] = [];
	for (let round = 0; round < 3; round++) {
		nodeMs.push(await nodeRun());
		inProcessMs.push(inProcess());
	}
	line(`node ${ITEMS} Run SQL items (one INSERT each) in one execution`, {
		node_median_ms: median(nodeMs),
		per_item_ms: median(nodeMs) / ITEMS,
		in_process_connection_median_ms: median(inProcessMs),
		ratio: median(nodeMs) / median(inProcessMs),
		goal: '<=3x',
	});
}

export async function benchFast(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-fast-');
	try {
		const db = join(dir.path, 'existing.duckdb');
		const instance = await DuckDBInstance.create(db);
		const connection = await instance.connect();
		await connection.run('CREATE TABLE items (i INTEGER, label VARCHAR)');
		connection.closeSync();
		instance.closeSync();
		benchInProcess(db);
		benchCli(dir.path, db);
		await benchItems(dir.path);
	} finally {
		dir.remove();
	}
}
