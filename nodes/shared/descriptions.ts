/** Parameter descriptions both nodes share. */
import type { INodeProperties } from 'n8n-workflow';

export const databasePathProperty: INodeProperties = {
	displayName: 'Database Path',
	name: 'databasePath',
	type: 'string',
	default: '',
	required: true,
	placeholder: '/data/liquidations.duckdb',
	description: 'Absolute path of the DuckDB file. Its lock file is this path plus .pid; its folder must exist.',
};
