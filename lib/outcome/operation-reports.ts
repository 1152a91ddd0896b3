/**
 * What the built-in operations report (JSON-safe: counts are numbers, never bigint), and their one-line summaries
 * for Discord or Slack messages.
 */
import { basename } from 'node:path';
import { formatDuration } from '../base/duration';
import type { Outcome } from './outcome';
import type { WriteMode } from '../operations/spec';

export interface FileResult {
	path: string;
	status: 'ingested' | 'skipped' | 'failed';
	bytes: number;
	rows?: number;
	ms?: number;
	/** skipped: why; failed: DuckDB's message or ours. */
	detail?: string;
}

export interface IngestReport {
	table: string;
	mode: WriteMode;
	tableCreated: boolean;
	files: { matched: number; ingested: number; skipped: number; failed: number; notAttempted: number };
	rows: number;
	bytes: number;
	/** Per file, in ingestion order (failures always; at most FILE_LIST_LIMIT entries in all). */
	perFile: FileResult[];
	perFileTruncated: boolean;
	/** Rows in the table after the run. */
	tableRows?: number;
	/** Set when the worker was stopped (timeout, cancel) before the end. */
	stopped?: boolean;
	/** A failure that is not one file's (a missing primary key, a table that cannot be created). */
	error?: string;
	peakRssBytes?: number;
}

export interface SqlReport {
	statements: number;
	statementsRun: number;
	rowsChanged: number;
	/** The last statement's rows, when asked for and it returned rows. */
	rows?: Array<Record<string, unknown>>;
	columns?: string[];
	rowsTruncated?: boolean;
	/** Which statement failed (1-based) and DuckDB's message; the whole script was rolled back. */
	failedStatement?: number;
	error?: string;
	stopped?: boolean;
	/** The script's transaction committed (a stop that came after it changes nothing). */
	committed?: boolean;
	peakRssBytes?: number;
}

export const FILE_LIST_LIMIT = 1000;

function count(value: number, one: string, many = `${one}s`): string {
	return `${value.toLocaleString('en-US')} ${value === 1 ? one : many}`;
}

function bytes(value: number): string {
	if (value < 1024) return `${value} B`;
	const units = ['KiB', 'MiB', 'GiB', 'TiB'];
	let size = value / 1024;
	let unit = 0;
	while (size >= 1024 && unit < units.length - 1) {
		size /= 1024;
		unit++;
	}
	return `${size.toFixed(1)} ${units[unit]}`;
}

function describeIngest(report: IngestReport): string {
	const parts = [`${count(report.files.ingested, 'file')} (${count(report.rows, 'row')}, ${bytes(report.bytes)}) into ${report.table}`];
	if (report.files.skipped) parts.push(`${report.files.skipped} unchanged skipped`);
	return parts.join(', ');
}

/** The summary line of an Ingest Files or Run SQL outcome; the generic one for anything else. */
export function summarizeOperation(outcome: Omit<Outcome, 'summary'>): string | undefined {
	const db = basename(outcome.database);
	const took = formatDuration(outcome.durationMs);
	const ingest = outcome.ingest;
	const sql = outcome.sql;
	if (outcome.status === 'blocked' || outcome.status === 'canceled' || (!ingest && !sql)) return undefined;
	if (ingest) {
		const failure = ingest.perFile.find((file) => file.status === 'failed');
		switch (outcome.status) {
			case 'success':
				return `Success: ingested ${describeIngest(ingest)} in ${took} on ${db}`;
			case 'timeout':
				return `Timeout: stopped after ${took} (limit ${formatDuration(outcome.timeoutMs)}); committed ${describeIngest(ingest)}; the next run resumes with the rest (on ${db})`;
			case 'failed':
				if (failure) return `Failed: ${basename(failure.path)}: ${failure.detail ?? 'failed'}; committed before it: ${describeIngest(ingest)} (on ${db})`;
				return `Failed: ${ingest.error ?? outcome.error ?? 'ingest failed'} (on ${db})`;
		}
	}
	if (sql) {
		switch (outcome.status) {
			case 'success':
				return `Success: ran ${count(sql.statementsRun, 'statement')}, ${count(sql.rowsChanged, 'row')} changed${sql.rows ? `, ${count(sql.rows.length, 'row')} returned` : ''} in ${took} on ${db}`;
			case 'timeout':
				if (sql.committed) return `Timeout: the limit (${formatDuration(outcome.timeoutMs)}) was reached as the script committed: ${count(sql.statementsRun, 'statement')} took effect on ${db}`;
				return `Timeout: SQL stopped after ${took} (limit ${formatDuration(outcome.timeoutMs)}); rolled back, nothing changed on ${db}`;
			case 'failed':
				return `Failed: ${sql.failedStatement ? `statement ${sql.failedStatement}: ` : ''}${sql.error ?? outcome.error ?? 'SQL failed'}; rolled back, nothing changed on ${db}`;
		}
	}
	return undefined;
}
