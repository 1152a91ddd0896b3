// The job of the server and queue-mode e2e workflows: it writes to the DuckDB database for a while, the way an
// ingestion does, and records its own life in a JSON-lines log shared by every run: a "start" line before it opens
// the database, a "holding" line once it holds it, and an "end" line after it closed it, with its host name (each queue-mode worker has its own), PID,
// n8n execution id and clock. Those lines prove, from the jobs themselves, that two never ran at once.
//
// Usage: node hold-job.mjs --pkg DIR --db PATH --log FILE --execution ID --ms N [--ignore-term]
//   --pkg  the installed package (its @duckdb/node-api is used)
//   --ms   how long the job holds the database
//   --ignore-term  SIGTERM is ignored (only SIGKILL stops it)
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
	options: {
		pkg: { type: 'string' },
		db: { type: 'string' },
		log: { type: 'string' },
		execution: { type: 'string', default: '' },
		ms: { type: 'string', default: '1000' },
		'ignore-term': { type: 'boolean', default: false },
	},
});
if (!values.pkg || !values.db || !values.log) {
	process.stderr.write('usage: hold-job.mjs --pkg DIR --db PATH --log FILE --execution ID --ms N [--ignore-term]\n');
	process.exit(2);
}
// Output to a supervisor that died (n8n SIGKILLed) must not end the job: it still holds the database, as a real orphan.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
if (values['ignore-term']) process.on('SIGTERM', () => process.stdout.write('SIGTERM ignored\n'));

const me = { execution: values.execution, host: hostname(), pid: process.pid };
const record = (event) => appendFileSync(values.log, `${JSON.stringify({ event, ...me, t: Date.now() })}\n`);

record('start');
const { DuckDBInstance } = createRequire(join(values.pkg, 'package.json'))('@duckdb/node-api');
const instance = await DuckDBInstance.create(values.db);
const connection = await instance.connect();
await connection.run(
	'CREATE TABLE IF NOT EXISTS runs (execution VARCHAR, host VARCHAR, pid INTEGER, started_ms BIGINT, ended_ms BIGINT)',
);
// Into the database file at once: a job stopped while it holds the database leaves no WAL of its own.
await connection.run('CHECKPOINT');
record('holding');
const started = Date.now();
process.stdout.write(`holding ${values.db} for ${values.ms} ms\n`);
const until = started + Number(values.ms);
while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
await connection.run('INSERT INTO runs VALUES ($1, $2, $3, $4, $5)', [
	me.execution,
	me.host,
	me.pid,
	started,
	Date.now(),
]);
connection.closeSync();
instance.closeSync();
record('end');
process.stdout.write('done\n');
