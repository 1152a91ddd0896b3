/**
 * Baselines of the fast-path benchmarks: what a user's own code does with @duckdb/node-api.
 *   node direct-sql.js once DB SQL        a fresh Node process opens DB, runs SQL once, exits
 *   node direct-sql.js each DB N          one connection, N single-row INSERTs each in its own transaction
 * Prints {"ms":N} (the time inside the process, for `each`).
 */
import { DuckDBInstance } from '@duckdb/node-api';

async function main(): Promise<void> {
	const [mode, db, arg] = process.argv.slice(2);
	const instance = await DuckDBInstance.create(db);
	const connection = await instance.connect();
	const started = Date.now();
	if (mode === 'once') await connection.run(arg);
	else {
		await connection.run('CREATE TABLE IF NOT EXISTS items (i INTEGER, label VARCHAR)');
		for (let i = 0; i < Number(arg); i++) await connection.run(`INSERT INTO items VALUES (${i}, 'item ${i}')`);
	}
	const ms = Date.now() - started;
	connection.closeSync();
	instance.closeSync();
	process.stdout.write(`${JSON.stringify({ ms })}\n`, () => process.exit(0));
}

void main();
