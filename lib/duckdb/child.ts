/**
 * A child process that opens a DuckDB database, so that DuckDB's own file lock and any crash in native code stay out
 * of the supervising process (which may be n8n itself).
 *
 *   node child.js serve [MS]     the probe, as a resident helper: a JSON line `{ id, path }` in, one answer out (is the
 *                                database held, and by which PID, from DuckDB's error on a read-only open), for as
 *                                long as stdin is open and requests keep coming (idle: exits). Every probe closes the
 *                                database before it answers, so the file is never held between probes.
 *   node child.js recover PATH   read-write open (replays the WAL), CHECKPOINT, close; prints one JSON line, exits
 */
import { createInterface } from 'node:readline';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parseLockConflict } from './lock-conflict';
import { messageOf } from '../base/errors';
import { quoteLiteral } from './sql-text';

/** A resident helper with no request for this long exits (the next probe starts a new one); `serve MS` sets it. */
const SERVE_IDLE_MS = 30_000;

function reply(message: object): void {
	process.stdout.write(`${JSON.stringify(message)}\n`, () => process.exit(0));
}

let prober: Promise<DuckDBConnection> | undefined;

/**
 * One in-memory instance for all probes (creating an instance costs ~10 ms, an ATTACH under 1 ms). It holds no file:
 * each probe attaches the database read-only (DuckDB's READ lock, refused at once while anyone writes) and detaches
 * it before answering, which drops the lock. No extension is ever installed or loaded for it.
 */
function probeConnection(): Promise<DuckDBConnection> {
	prober ??= DuckDBInstance.create(':memory:', {
		autoinstall_known_extensions: 'false',
		autoload_known_extensions: 'false',
	}).then((instance) => instance.connect());
	return prober;
}

let probes = 0;

async function probeOnce(path: string): Promise<object> {
	const connection = await probeConnection();
	const alias = `probe_${++probes}`;
	try {
		await connection.run(`ATTACH ${quoteLiteral(path)} AS ${alias} (TYPE DUCKDB, READ_ONLY)`);
	} catch (error) {
		const message = messageOf(error);
		const conflict = parseLockConflict(message);
		return conflict ? { held: true, ...conflict, message } : { held: false, error: message };
	}
	// A database this helper could not let go of must not stay held: the helper ends (its parent asks a new one).
	await connection.run(`DETACH ${alias}`).catch(() => process.exit(1));
	return { held: false };
}

/** One probe after another, in arrival order, until stdin ends (the parent went away) or nothing comes for a while. */
function serve(idleMs: number): void {
	let idle = setTimeout(() => process.exit(0), idleMs);
	let queue = Promise.resolve();
	process.stdin.on('end', () => process.exit(0));
	createInterface({ input: process.stdin }).on('line', (line) => {
		clearTimeout(idle);
		queue = queue.then(async () => {
			let request: { id?: unknown; path?: unknown };
			try {
				request = JSON.parse(line) as typeof request;
			} catch {
				request = {};
			}
			const answer =
				typeof request.path === 'string' ? await probeOnce(request.path) : { held: false, error: 'no path given' };
			process.stdout.write(`${JSON.stringify({ ...answer, id: request.id })}\n`);
			clearTimeout(idle);
			idle = setTimeout(() => process.exit(0), idleMs);
		});
	});
}

async function recover(path: string): Promise<void> {
	let instance: DuckDBInstance | undefined;
	try {
		instance = await DuckDBInstance.create(path);
		const connection = await instance.connect();
		await connection.run('CHECKPOINT');
		const reader = await connection.runAndReadAll(
			'SELECT count(*) AS tables, coalesce(sum(estimated_size), 0) AS rows FROM duckdb_tables()',
		);
		const [row] = reader.getRowObjects();
		connection.closeSync();
		instance.closeSync();
		reply({ ok: true, tables: Number(row.tables), rows: Number(row.rows) });
	} catch (error) {
		instance?.closeSync();
		reply({ ok: false, error: messageOf(error) });
	}
}

const [mode, path] = process.argv.slice(2);
if (mode === 'serve') serve(Number(path) > 0 ? Number(path) : SERVE_IDLE_MS);
else if (mode === 'recover') void recover(path);
else reply({ error: `unknown mode ${mode}` });
