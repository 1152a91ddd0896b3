/** What the built-in operations report (JSON-safe: counts are numbers, never bigint). */

export const WRITE_MODES = ['append', 'replace', 'insertOrIgnore', 'upsert'] as const;
export type WriteMode = (typeof WRITE_MODES)[number];

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

/** Insert Rows: items into a table. Item indexes are 0-based positions among the rows of the run. */
export interface InsertReport {
	table: string;
	mode: WriteMode;
	tableCreated: boolean;
	columnsAdded: string[];
	/** Fields that no column took (missing columns: ignore). */
	fieldsIgnored: string[];
	items: number;
	rows: { inserted: number; ignored: number; updated: number };
	/** Rows per transaction (0: one transaction) and how many transactions committed. */
	batches: { size: number; total: number; committed: number };
	/** Items [0, landedItems) are committed; the ones after are not. */
	landedItems: number;
	/** The item (and its field) whose value did not fit, or whose batch failed. */
	failedItem?: { index: number; field?: string };
	/** With item fates asked for: the ranges [first, last] of the items ignored and updated. */
	ignoredItems?: Array<[number, number]>;
	updatedItems?: Array<[number, number]>;
	tableRows?: number;
	ms: number;
	stopped?: boolean;
	/** The last transaction committed (a stop that came after it changes nothing). */
	committed?: boolean;
	error?: string;
	peakRssBytes?: number;
}
