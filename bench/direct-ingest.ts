/**
 * The baseline of the ingest benchmark: what a user's own script does, in a fresh Node process like our worker:
 * open the database with @duckdb/node-api and run `INSERT INTO t SELECT * FROM read_csv(FILE)`.
 * Prints {"rows":N,"queryMs":N,"peakRssBytes":N}.
 */
import { DuckDBInstance } from '@duckdb/node-api';

async function main(): Promise<void> {
	const [db, file, columns] = process.argv.slice(2);
	const instance = await DuckDBInstance.create(db);
	const connection = await instance.connect();
	await connection.run(`CREATE TABLE IF NOT EXISTS trades (${columns})`);
	const started = Date.now();
	const result = await connection.run(`INSERT INTO trades SELECT * FROM read_csv('${file.replace(/'/g, "''")}')`);
	const queryMs = Date.now() - started;
	connection.closeSync();
	instance.closeSync();
	process.stdout.write(
		`${JSON.stringify({ rows: Number(result.rowsChanged), queryMs, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
		() => process.exit(0),
	);
}

void main();
