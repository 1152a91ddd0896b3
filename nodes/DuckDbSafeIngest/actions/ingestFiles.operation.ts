/** DuckDB Safe Ingest, Ingest Files: CSV, Parquet and JSON files into a table, each file once, by our worker. */
import type { IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import type { OperationRequest } from '../../../lib/operations/dispatch';
import { globBase, normaliseSource, parseNameList, type IngestSpec } from '../../../lib/operations/spec';
import { allowedPath } from '../../shared/glue';
import { databaseSettings } from './settings';
import { newTableColumns, newTableColumnsProperty } from './table-columns';

const ingestFiles = { show: { operation: ['ingestFiles'] } };

export const option: INodePropertyOptions = {
	name: 'Ingest Files',
	value: 'ingestFiles',
	description: 'Load CSV, Parquet or JSON files into a table, each file once, under the database lock',
	action: 'Ingest files into a table',
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Source Files',
		name: 'sources',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: { source: [{ path: '' }] },
		placeholder: 'Add Path or Pattern',
		required: true,
		description:
			'Files to load: paths or patterns (* any name, ** any subfolders, ? one character). Files are loaded in name order, each once.',
		displayOptions: ingestFiles,
		options: [
			{
				displayName: 'Source',
				name: 'source',
				values: [
					{
						displayName: 'Path or Pattern',
						name: 'path',
						type: 'string',
						default: '',
						placeholder: '/data/binance/BTCUSDT-aggTrades-*.csv',
					},
				],
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
			{
				name: 'Append',
				value: 'append',
				description:
					'Add the rows of new files. A file that changed after it was loaded is refused (it would duplicate rows).',
			},
			{
				name: 'Create or Update',
				value: 'upsert',
				description: 'Create a new record, or update the current one if it already exists (upsert)',
			},
			{
				name: 'Insert or Ignore',
				value: 'insertOrIgnore',
				description: 'Add rows whose primary key is new; keep existing rows. Needs a primary key.',
			},
			{
				name: 'Replace',
				value: 'replace',
				description:
					'Empty the table and load all matching files, in one transaction: readers see the old or the new table, never a mix',
			},
		],
	},
	{
		displayName: 'Primary Key Columns',
		name: 'primaryKey',
		type: 'string',
		default: '',
		placeholder: 'agg_trade_id',
		description:
			'Comma-separated columns of the primary key given to a table this node creates. Insert or Ignore and Create or Update (upsert) need one.',
		displayOptions: ingestFiles,
	},
	newTableColumnsProperty(
		'columns',
		'Names and DuckDB types for a table this node creates, in file order. Empty: inferred from the first file. Give them for CSV files without a header line.',
		ingestFiles,
	),
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
					{
						name: 'From the File Name',
						value: 'auto',
						description: 'Detected from the extension: CSV (also gzipped), TSV, Parquet, JSON, NDJSON',
					},
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
					{
						name: 'Detect',
						value: 'auto',
						description: "Per file (Binance's older files have no header, newer ones do)",
					},
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

/** The item's sources (each checked against the instance's file-access policy), table and mode, as a request. */
export async function request(
	context: IExecuteFunctions,
	itemIndex: number,
	databasePath: string,
): Promise<OperationRequest> {
	return { operation: 'ingestFiles', spec: await specFor(context, itemIndex, databasePath) };
}

async function specFor(context: IExecuteFunctions, itemIndex: number, databasePath: string): Promise<IngestSpec> {
	const sources: string[] = [];
	for (const entry of context.getNodeParameter('sources.source', itemIndex, []) as Array<{ path?: unknown }>) {
		const path = String(entry.path ?? '').trim();
		if (!path) continue;
		// The folder before the first wildcard is what the instance's policy must allow (and what DuckDB may read),
		// taken from the path as the core will use it: normalised first, so `x*/../..` cannot climb out of it.
		const source = normaliseSource(path);
		const base = globBase(source);
		const allowed = await allowedPath(context, base, 'source folder', itemIndex);
		sources.push(`${allowed}${source.slice(base.length)}`);
	}
	const files = context.getNodeParameter('fileOptions', itemIndex, {}) as {
		format?: IngestSpec['format'];
		csvHeader?: IngestSpec['csvHeader'];
		csvDelimiter?: string;
	};
	const columns = newTableColumns(context, 'columns', itemIndex);
	return {
		...(await databaseSettings(context, itemIndex, databasePath)),
		sources,
		table: String(context.getNodeParameter('table', itemIndex)).trim(),
		mode: context.getNodeParameter('writeMode', itemIndex, 'append') as IngestSpec['mode'],
		primaryKey: parseNameList(String(context.getNodeParameter('primaryKey', itemIndex, ''))),
		columns,
		format: files.format,
		csvHeader: files.csvHeader,
		csvDelimiter: files.csvDelimiter || undefined,
	};
}
