/**
 * A short-lived child process that opens a DuckDB database, so that DuckDB's own file lock and any crash in native
 * code stay out of the supervising process (which may be n8n itself). Prints one JSON line and exits.
 *
 *   node worker.js probe PATH     read-only open: is the database held, and by which PID (from DuckDB's error)?
 *   node worker.js recover PATH   read-write open (replays the WAL), CHECKPOINT, close
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { parseLockConflict } from './lock-conflict';
import { messageOf } from '../base/errors';

function reply(message: object): void {
	process.stdout.write(`${JSON.stringify(message)}\n`, () => process.exit(0));
}

async function probe(path: string): Promise<void> {
	try {
		const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
		instance.closeSync();
		reply({ held: false });
	} catch (error) {
		const message = messageOf(error);
		const conflict = parseLockConflict(message);
		reply(conflict ? { held: true, ...conflict, message } : { held: false, error: message });
	}
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
if (mode === 'probe') void probe(path);
else if (mode === 'recover') void recover(path);
else reply({ error: `unknown mode ${mode}` });
