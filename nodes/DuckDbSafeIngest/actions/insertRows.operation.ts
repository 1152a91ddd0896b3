/** DuckDB Safe Ingest, Insert Rows: the input items into a table, in one run under the lock, by our worker. */
import type { IDataObject, IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { parseNameList } from '../../../lib/operations/spec';
import type { InsertSpec } from '../../../lib/operations/insert-rows/spec';
import { databaseSettings } from './settings';
import { newTableColumns, newTableColumnsProperty } from './table-columns';

const insertRows = { show: { operation: ['insertRows'] } };

export const option: INodePropertyOptions = {
	name: 'Insert Rows',
	value: 'insertRows',
	description: 'Write the input items into a table as rows, in one run under the database lock',
	action: 'Insert rows into a table',
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Table',
		name: 'insertTable',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'agg_trades',
		description: 'Target table, created when missing (optionally with a schema: main.agg_trades)',
		displayOptions: insertRows,
	},
	{
		displayName: 'Mapping Column Mode',
		name: 'dataMode',
		type: 'options',
		default: 'autoMapInputData',
		displayOptions: insertRows,
		options: [
			{
				name: 'Map Automatically',
				value: 'autoMapInputData',
				description: 'Each field of an item goes to the column of the same name',
			},
			{
				name: 'Map Each Column Below',
				value: 'defineBelow',
				description: 'Give each column its value, with expressions',
			},
		],
	},
	{
		displayName: 'Values to Send',
		name: 'valuesToSend',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Value',
		displayOptions: { show: { operation: ['insertRows'], dataMode: ['defineBelow'] } },
		options: [
			{
				displayName: 'Values',
				name: 'values',
				values: [
					{ displayName: 'Column', name: 'column', type: 'string', default: '', placeholder: 'price' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '', placeholder: '={{ $json.p }}' },
				],
			},
		],
	},
	{
		displayName: 'Insert Mode',
		name: 'insertMode',
		type: 'options',
		default: 'append',
		displayOptions: insertRows,
		options: [
			{ name: 'Append', value: 'append', description: 'Add every item as a new row' },
			{
				name: 'Create or Update',
				value: 'upsert',
				description: 'Create a new record, or update the current one if it already exists (upsert)',
			},
			{
				name: 'Insert or Ignore',
				value: 'insertOrIgnore',
				description: 'Add items whose primary key is new; keep existing rows. Needs a primary key.',
			},
			{
				name: 'Replace',
				value: 'replace',
				description: 'Empty the table first, then add the items (readers see the old or the new rows, never a mix)',
			},
		],
	},
	{
		displayName: 'Primary Key Columns',
		name: 'insertPrimaryKey',
		type: 'string',
		default: '',
		placeholder: 'a',
		description:
			'Comma-separated columns of the primary key of a table this node creates. Insert or Ignore and Create or Update need one; an existing table uses its own.',
		displayOptions: insertRows,
	},
	newTableColumnsProperty(
		'insertColumns',
		'Names and DuckDB types for a table this node creates. Empty: inferred from the items.',
		insertRows,
	),
	{
		displayName: 'Insert Options',
		name: 'insertOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: insertRows,
		options: [
			{
				displayName: 'Batch Size',
				name: 'batchSize',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					'Rows per transaction, each committed on its own (a timeout keeps the committed batches). 0: all items in one transaction.',
			},
			{
				displayName: 'Fields Without a Column',
				name: 'missingColumns',
				type: 'options',
				default: 'ignore',
				options: [
					{ name: 'Ignore Them', value: 'ignore' },
					{ name: 'Add a Column', value: 'add', description: 'With the type inferred from the items' },
					{ name: 'Fail the Run', value: 'fail' },
				],
			},
			{
				displayName: 'Nested Values',
				name: 'nested',
				type: 'options',
				default: 'json',
				options: [
					{ name: 'Into JSON Columns', value: 'json' },
					{ name: 'Refuse Them', value: 'refuse', description: 'An object or array fails the run' },
				],
			},
			{
				displayName: 'Output',
				name: 'output',
				type: 'options',
				default: 'outcome',
				options: [
					{ name: 'One Outcome Item', value: 'outcome', description: 'Paired with every input item' },
					{
						name: 'One Item per Input',
						value: 'perItem',
						description: 'Each input item with its fate: inserted, ignored, updated, failed or not written',
					},
				],
			},
		],
	},
];

export interface InsertOptions {
	batchSize?: number;
	missingColumns?: InsertSpec['missingColumns'];
	nested?: InsertSpec['nested'];
	output?: 'outcome' | 'perItem';
}

/** The item's row: its fields, or the columns given with their values. */
export function rowOf(context: IExecuteFunctions, itemIndex: number): IDataObject {
	if (context.getNodeParameter('dataMode', itemIndex, 'autoMapInputData') === 'autoMapInputData')
		return context.getInputData()[itemIndex].json;
	const row: IDataObject = {};
	const values = context.getNodeParameter('valuesToSend.values', itemIndex, []) as Array<{
		column?: unknown;
		value?: unknown;
	}>;
	for (const { column, value } of values) {
		const name = String(column ?? '').trim();
		if (name) row[name] = value as IDataObject[string];
	}
	return row;
}

/** Everything of the item's Insert Rows but its row: items with equal specs go into one run. */
export async function specFor(
	context: IExecuteFunctions,
	itemIndex: number,
	databasePath: string,
): Promise<Omit<InsertSpec, 'rows'> & { output: 'outcome' | 'perItem' }> {
	const options = context.getNodeParameter('insertOptions', itemIndex, {}) as InsertOptions;
	const columns = newTableColumns(context, 'insertColumns', itemIndex);
	const output = options.output ?? 'outcome';
	return {
		...(await databaseSettings(context, itemIndex, databasePath)),
		table: String(context.getNodeParameter('insertTable', itemIndex)).trim(),
		mode: context.getNodeParameter('insertMode', itemIndex, 'append') as InsertSpec['mode'],
		primaryKey: parseNameList(String(context.getNodeParameter('insertPrimaryKey', itemIndex, ''))),
		columns,
		batchSize: options.batchSize,
		missingColumns: options.missingColumns,
		nested: options.nested,
		itemFates: output === 'perItem',
		output,
	};
}

/** Never called: Insert Rows takes all items at once (insertRows.execute.ts), not one request per item. */
export function request(): never {
	throw new Error('Insert Rows runs through its own execute');
}
