/** DuckDB Safe Ingest: the parameters of the built-in operations, Ingest Files and Run SQL. */
import type { INodeProperties } from 'n8n-workflow';

const ingestFiles = { show: { operation: ['ingestFiles'] } };
const runSql = { show: { operation: ['runSql'] } };
const builtIn = { show: { '/operation': ['ingestFiles', 'runSql'] } };

export const ingestFilesProperties: INodeProperties[] = [
	{
		displayName: 'Source Files',
		name: 'sources',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: { source: [{ path: '' }] },
		placeholder: 'Add Path or Pattern',
		required: true,
		description: 'Files to load: paths or patterns (* any name, ** any subfolders, ? one character). Files are loaded in name order, each once.',
		displayOptions: ingestFiles,
		options: [
			{
				displayName: 'Source',
				name: 'source',
				values: [{ displayName: 'Path or Pattern', name: 'path', type: 'string', default: '', placeholder: '/data/binance/BTCUSDT-aggTrades-*.csv' }],
			},
		],
	},
	{
		displayName: 'Table',
		name: 'table',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'agg_trades',
		description: 'Target table, created when missing (optionally with a schema: main.agg_trades)',
		displayOptions: ingestFiles,
	},
	{
		displayName: 'Write Mode',
		name: 'writeMode',
		type: 'options',
		default: 'append',
		displayOptions: ingestFiles,
		options: [
			{ name: 'Append', value: 'append', description: 'Add the rows of new files. A file that changed after it was loaded is refused (it would duplicate rows).' },
			{ name: 'Create or Update', value: 'upsert', description: 'Create a new record, or update the current one if it already exists (upsert)' },
			{ name: 'Insert or Ignore', value: 'insertOrIgnore', description: 'Add rows whose primary key is new; keep existing rows. Needs a primary key.' },
			{ name: 'Replace', value: 'replace', description: 'Empty the table and load all matching files, in one transaction: readers see the old or the new table, never a mix' },
		],
	},
	{
		displayName: 'Primary Key Columns',
		name: 'primaryKey',
		type: 'string',
		default: '',
		placeholder: 'agg_trade_id',
		description: 'Comma-separated columns of the primary key given to a table this node creates. Insert or Ignore and Create or Update (upsert) need one.',
		displayOptions: ingestFiles,
	},
	{
		displayName: 'Columns of a New Table',
		name: 'columns',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Column',
		description: 'Names and DuckDB types for a table this node creates, in file order. Empty: inferred from the first file. Give them for CSV files without a header line.',
		displayOptions: ingestFiles,
		options: [
			{
				displayName: 'Column',
				name: 'column',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'price' },
					{ displayName: 'Type', name: 'type', type: 'string', default: 'VARCHAR', placeholder: 'DOUBLE' },
				],
			},
		],
	},
	{
		displayName: 'File Options',
		name: 'fileOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: ingestFiles,
		options: [
			{
				displayName: 'Format',
				name: 'format',
				type: 'options',
				default: 'auto',
				options: [
					{ name: 'CSV', value: 'csv' },
					{ name: 'From the File Name', value: 'auto', description: 'Detected from the extension: CSV (also gzipped), TSV, Parquet, JSON, NDJSON' },
					{ name: 'JSON', value: 'json', description: 'A JSON array of objects (or newline-delimited, detected)' },
					{ name: 'Newline-Delimited JSON', value: 'ndjson' },
					{ name: 'Parquet', value: 'parquet' },
				],
			},
			{
				displayName: 'CSV Header Line',
				name: 'csvHeader',
				type: 'options',
				default: 'auto',
				options: [
					{ name: 'Detect', value: 'auto', description: 'Per file (Binance\'s older files have no header, newer ones do)' },
					{ name: 'Yes', value: 'yes' },
					{ name: 'No', value: 'no' },
				],
			},
			{
				displayName: 'CSV Delimiter',
				name: 'csvDelimiter',
				type: 'string',
				default: '',
				placeholder: ',',
				description: 'One character. Empty: detected.',
			},
		],
	},
];

export const runSqlProperties: INodeProperties[] = [
	{
		displayName: 'SQL',
		name: 'sql',
		type: 'string',
		typeOptions: { editor: 'sqlEditor', sqlDialect: 'StandardSQL' },
		default: '',
		required: true,
		placeholder: 'DELETE FROM agg_trades WHERE transact_time < 1700000000000;',
		description: 'One or more statements, run in one transaction: all of them take effect, or none. Files are reachable only in the database\'s folder and the allowed folders.',
		displayOptions: runSql,
	},
	{
		displayName: 'Return Rows',
		name: 'returnRows',
		type: 'boolean',
		default: false,
		description: 'Whether the rows of the last statement (a query) become the output items on Success, instead of one outcome item',
		displayOptions: runSql,
	},
	{
		displayName: 'Row Limit',
		name: 'rowLimit',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100000 },
		default: 1000,
		description: 'Max number of rows to return',
		displayOptions: { show: { operation: ['runSql'], returnRows: [true] } },
	},
];

/** Entries of the shared Options collection that only the built-in operations use. */
export const operationOptions: INodeProperties[] = [
	{
		displayName: 'Extra Allowed Folders',
		name: 'extraFolders',
		type: 'string',
		default: '',
		placeholder: '/data/exports, /data/reference',
		description: 'Comma-separated folders SQL may also read and write. By default only the database\'s folder, the source folders and the instance\'s allowed folders (N8N_RESTRICT_FILE_ACCESS_TO).',
		displayOptions: builtIn,
	},
	{
		displayName: 'DuckDB Threads',
		name: 'threads',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 2,
		description: 'Limit DuckDB\'s threads, to leave CPU for n8n. Unset: one per core.',
		displayOptions: builtIn,
	},
	{
		displayName: 'DuckDB Memory Limit',
		name: 'memoryLimit',
		type: 'string',
		default: '',
		placeholder: '2GB',
		description: 'Limit DuckDB\'s memory (it spills to disk beyond it). Empty: 80% of the RAM.',
		displayOptions: builtIn,
	},
];
