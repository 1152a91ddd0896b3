/** DuckDB Safe Ingest, Run SQL: a script in one transaction, confined to the allowed folders, by our worker. */
import type { IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import type { OperationRequest } from '../../../lib/operations/dispatch';
import type { SqlSpec } from '../../../lib/operations/spec';
import { databaseSettings } from './settings';

const runSql = { show: { operation: ['runSql'] } };

export const option: INodePropertyOptions = {
	name: 'Run SQL',
	value: 'runSql',
	description: 'Run a SQL script in one transaction under the database lock, confined to allowed folders',
	action: 'Run a SQL script',
};

export const properties: INodeProperties[] = [
	{
		displayName: 'SQL',
		name: 'sql',
		type: 'string',
		typeOptions: { editor: 'sqlEditor', sqlDialect: 'StandardSQL' },
		default: '',
		required: true,
		placeholder: 'DELETE FROM agg_trades WHERE transact_time < 1700000000000;',
		description:
			"One or more statements, run in one transaction: all of them take effect, or none. Files are reachable only in the database's folder and the allowed folders.",
		displayOptions: runSql,
	},
	{
		displayName: 'Return Rows',
		name: 'returnRows',
		type: 'boolean',
		default: false,
		description:
			'Whether the rows of the last statement (a query) become the output items on Success, instead of one outcome item',
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

/** The item's script and whether its last query's rows are the output, as a request. */
export async function request(
	context: IExecuteFunctions,
	itemIndex: number,
	databasePath: string,
): Promise<OperationRequest> {
	const returnRows = context.getNodeParameter('returnRows', itemIndex, false) as boolean;
	const spec: SqlSpec = {
		...(await databaseSettings(context, itemIndex, databasePath)),
		sql: String(context.getNodeParameter('sql', itemIndex)),
		returnRows,
		rowLimit: returnRows ? (context.getNodeParameter('rowLimit', itemIndex, 1000) as number) : undefined,
	};
	return { operation: 'runSql', spec };
}
