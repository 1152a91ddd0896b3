/** The "Columns of a New Table" parameter that Ingest Files and Insert Rows share: its description and its reading. */
import type { IDisplayOptions, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { Column } from '../../../lib/operations/spec';

export function newTableColumnsProperty(
	name: string,
	description: string,
	displayOptions: IDisplayOptions,
): INodeProperties {
	return {
		displayName: 'Columns of a New Table',
		name,
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Column',
		description,
		displayOptions,
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
	};
}

/** The columns given (rows without a name left out), or undefined when none. */
export function newTableColumns(context: IExecuteFunctions, name: string, itemIndex: number): Column[] | undefined {
	const columns = (
		context.getNodeParameter(`${name}.column`, itemIndex, []) as Array<{ name?: unknown; type?: unknown }>
	)
		.map((column) => ({ name: String(column.name ?? '').trim(), type: String(column.type ?? '').trim() }))
		.filter((column) => column.name);
	return columns.length ? columns : undefined;
}
