/**
 * Insert Rows, inside the worker: the plan (plan.ts), then the rows from the row file through DuckDB's appender, in
 * one transaction or in batches each committed on its own. Append and Replace append to the table itself; Insert or
 * Ignore and Upsert append to a staging table and merge (merge.ts). A value that does not fit, or a stop, rolls back
 * the transaction in progress only; the batches before it stay committed. A stop never interrupts a COMMIT.
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { messageOf } from '../../base/errors';
import { quoteIdentifier as q } from '../../duckdb/sql-text';
import type { InsertReport } from '../../outcome/operation-reports';
import type { WorkerControl } from '../ingest-files/load';
import { qualified } from '../spec';
import { appendFor, type Append } from './convert';
import { createStaging, merge, STAGING } from './merge';
import { planInsert, readTable, type InsertPlan } from './plan';
import { rows as readRows } from './row-file';
import { toRanges } from './shape';
import type { ResolvedInsert } from './spec';

/** How many rows are appended between two looks at the stop flag (the signal handler runs only between them). */
const YIELD_EVERY = 2048;

class Stopped extends Error {}

/** A row that could not be appended: its item, its field and why. */
class RowError extends Error {
	constructor(
		readonly index: number,
		readonly field: string | undefined,
		message: string,
	) {
		super(`item ${index}${field ? `, field ${field}` : ''}: ${message}`);
	}
}

export function emptyInsertReport(spec: ResolvedInsert): InsertReport {
	const total = spec.rows.shape.rows;
	const size = spec.batchSize || total;
	return {
		table: spec.table,
		mode: spec.mode,
		tableCreated: false,
		columnsAdded: [],
		fieldsIgnored: [],
		items: total,
		rows: { inserted: 0, ignored: 0, updated: 0 },
		batches: { size: spec.batchSize, total: size ? Math.ceil(total / size) : 0, committed: 0 },
		landedItems: 0,
		ms: 0,
	};
}

interface Writer {
	appender: DuckDBAppender;
	appends: Append[];
	fields: Array<string | undefined>;
}

/** Appends `count` rows from the iterator, yielding now and then so that a stop is seen. */
async function appendRows(
	writer: Writer,
	source: Iterator<Record<string, unknown>>,
	first: number,
	count: number,
	staged: boolean,
	control: WorkerControl,
): Promise<void> {
	const { appender, appends, fields } = writer;
	for (let index = first; index < first + count; index++) {
		if ((index - first) % YIELD_EVERY === 0) {
			await new Promise((resolve) => setImmediate(resolve));
			if (control.stopping()) throw new Stopped('stopped');
		}
		const next = source.next();
		if (next.done) throw new RowError(index, undefined, 'the row file ended early');
		const row = next.value;
		let column = 0;
		try {
			for (; column < appends.length; column++) {
				const field = fields[column];
				if (field === undefined) {
					appender.appendDefault();
					continue;
				}
				const value = row[field];
				if (value === null || value === undefined) appender.appendNull();
				else appends[column](appender, value);
			}
			if (staged) appender.appendInteger(index);
			appender.endRow();
		} catch (error) {
			throw new RowError(index, fields[column], messageOf(error));
		}
	}
}

class Run {
	readonly report: InsertReport;
	private plan!: InsertPlan;
	private readonly target: string;
	private readonly staged: boolean;
	private readonly source: Iterator<Record<string, unknown>>;
	private ignored: number[] = [];
	private updated: number[] = [];

	constructor(
		private readonly connection: DuckDBConnection,
		private readonly spec: ResolvedInsert,
		private readonly control: WorkerControl,
	) {
		this.report = emptyInsertReport(spec);
		this.target = qualified(spec.tableName);
		this.staged = spec.mode === 'insertOrIgnore' || spec.mode === 'upsert';
		this.source = readRows(spec.rows.path);
	}

	async start(): Promise<boolean> {
		const plan = planInsert(this.spec, this.spec.rows.shape, await readTable(this.connection, this.spec));
		if (typeof plan === 'string') {
			this.report.error = plan;
			return false;
		}
		this.plan = plan;
		this.report.fieldsIgnored = plan.ignoredFields;
		return this.report.items > 0;
	}

	/** What the first transaction does before its rows: create or empty the table, add columns. */
	private async prepare(): Promise<void> {
		const { plan, spec, connection, target } = this;
		if (plan.create) {
			if (spec.tableName.schema !== 'main')
				await connection.run(`CREATE SCHEMA IF NOT EXISTS ${q(spec.tableName.schema)}`);
			const key = plan.key.length ? `, PRIMARY KEY (${plan.key.map(q).join(', ')})` : '';
			const list = plan.columns.map((column) => `${q(column.name)} ${column.type}`).join(', ');
			await connection.run(`CREATE TABLE ${target} (${list}${key})`);
		}
		for (const column of plan.add)
			await connection.run(`ALTER TABLE ${target} ADD COLUMN ${q(column.name)} ${column.type}`);
		if (spec.mode === 'replace' && !plan.create) await connection.run(`DELETE FROM ${target}`);
		if (this.staged) await createStaging(connection, this.written());
	}

	/** The columns written: every column of the table (DEFAULT for those no item has), or for a merge the items' only. */
	private written(): InsertPlan['columns'] {
		return this.staged ? this.plan.columns.filter((column) => column.field !== undefined) : this.plan.columns;
	}

	private async writer(): Promise<Writer> {
		const { schema, name } = this.spec.tableName;
		const appender = this.staged
			? await this.connection.createAppender(STAGING, 'main', 'temp')
			: await this.connection.createAppender(name, schema);
		const columns = this.written();
		const appends = columns.map((column) => appendFor(column.type, this.spec.nested));
		return { appender, appends, fields: columns.map((column) => column.field) };
	}

	/** One transaction: its rows appended (and merged), then committed. */
	private async batch(first: number, count: number): Promise<void> {
		const { connection, report, control } = this;
		await connection.run('BEGIN TRANSACTION');
		if (first === 0) await this.prepare();
		const writer = await this.writer();
		try {
			await appendRows(writer, this.source, first, count, this.staged, control);
			writer.appender.flushSync();
		} catch (error) {
			writer.appender.clear();
			throw error;
		} finally {
			writer.appender.closeSync();
		}
		let inserted = count;
		let others: number[] = [];
		if (this.staged) {
			const mode = this.spec.mode as 'insertOrIgnore' | 'upsert';
			const merged = await merge(connection, this.target, this.written(), this.plan.key, mode, this.spec.itemFates);
			inserted = merged.inserted;
			others = merged.otherItems ?? [];
			report.rows[mode === 'upsert' ? 'updated' : 'ignored'] += merged.others;
		}
		if (control.stopping()) throw new Stopped('stopped');
		await control.committing(() => connection.run('COMMIT'));
		report.rows.inserted += inserted;
		(this.spec.mode === 'upsert' ? this.updated : this.ignored).push(...others);
		report.batches.committed++;
		report.landedItems = first + count;
		if (first === 0) {
			report.tableCreated = this.plan.create;
			report.columnsAdded = this.plan.add.map((column) => column.name);
		}
	}

	/** Every batch in order; false when the run ended early (a failure or a stop). */
	async each(): Promise<boolean> {
		const { report, control } = this;
		const size = this.spec.batchSize || report.items;
		for (let first = 0; first < report.items; first += size) {
			const count = Math.min(size, report.items - first);
			const started = Date.now();
			try {
				await this.batch(first, count);
				control.progress(`items ${first}–${first + count - 1}: committed in ${Date.now() - started} ms`);
			} catch (error) {
				await this.connection.run('ROLLBACK').catch(() => undefined);
				if (error instanceof Stopped || control.stopping()) {
					report.stopped = true;
					control.progress(`stopped in items ${first}–${first + count - 1}: rolled back`);
				} else {
					report.failedItem = error instanceof RowError ? { index: error.index, field: error.field } : { index: first };
					report.error =
						error instanceof RowError ? error.message : `items ${first}–${first + count - 1}: ${messageOf(error)}`;
					control.progress(`failed: ${report.error}; rolled back items ${first}–${first + count - 1}`);
				}
				return false;
			}
		}
		report.committed = true;
		return true;
	}

	async finish(): Promise<void> {
		const { report } = this;
		if (this.spec.itemFates) {
			report.ignoredItems = toRanges(this.ignored);
			report.updatedItems = toRanges(this.updated);
		}
		const exists = await readTable(this.connection, this.spec);
		if (exists) {
			const count = await this.connection.runAndReadAll(`SELECT count(*) AS n FROM ${this.target}`);
			report.tableRows = Number(count.getRowObjectsJson()[0].n);
		}
	}
}

export async function insertRows(
	connection: DuckDBConnection,
	spec: ResolvedInsert,
	control: WorkerControl,
): Promise<InsertReport> {
	const started = Date.now();
	const run = new Run(connection, spec, control);
	try {
		if (await run.start()) await run.each();
		await run.finish();
	} finally {
		run.report.ms = Date.now() - started;
	}
	return run.report;
}
