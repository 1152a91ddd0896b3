/**
 * The baseline of the insert-rows benchmark: what a user's own script does, in one fresh Node process: read the
 * NDJSON file of aggTrades items, JSON.parse each line and append the rows with @duckdb/node-api's appender (typed
 * appends) into a new table with the columns Insert Rows infers. Timed from the start of reading to the appender's
 * close, opening the database included.
 *   node direct-insert.js DB FILE TABLE
 * Prints {"rows":N,"ms":N,"peakRssBytes":N}.
 */
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { nowUs } from './stats';

interface AggTrade {
	a: number;
	p: string;
	q: string;
	f: number;
	l: number;
	T: number;
	m: boolean;
}

async function main(): Promise<void> {
	const [db, file, table] = process.argv.slice(2);
	const started = nowUs();
	const text = readFileSync(file, 'utf8');
	const instance = await DuckDBInstance.create(db);
	const connection = await instance.connect();
	await connection.run(
		`CREATE TABLE ${table} (a BIGINT, p VARCHAR, q VARCHAR, f BIGINT, l BIGINT, "T" BIGINT, m BOOLEAN)`,
	);
	const appender = await connection.createAppender(table);
	let rows = 0;
	for (const entry of text.split('\n')) {
		if (!entry) continue;
		const item = JSON.parse(entry) as AggTrade;
		appender.appendBigInt(BigInt(item.a));
		appender.appendVarchar(item.p);
		appender.appendVarchar(item.q);
		appender.appendBigInt(BigInt(item.f));
		appender.appendBigInt(BigInt(item.l));
		appender.appendBigInt(BigInt(item.T));
		appender.appendBoolean(item.m);
		appender.endRow();
		rows++;
	}
	appender.flushSync();
	appender.closeSync();
	const ms = (nowUs() - started) / 1000;
	connection.closeSync();
	instance.closeSync();
	process.stdout.write(`${JSON.stringify({ rows, ms, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`, () =>
		process.exit(0),
	);
}

void main();
