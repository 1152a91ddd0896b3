/** DuckDB Safe Ingest's parameters: the database, the operation and its own parameters, then what every run shares. */
import type { INodeProperties } from 'n8n-workflow';
import { databasePathProperty } from '../../shared/descriptions';
import { lockBackendProperty } from '../../shared/lock-backend';
import { handshakeProperties } from '../../shared/hook-properties';
import { OPERATIONS } from './operations';
import { optionsProperty, supervisionProperties } from './settings';

export const properties: INodeProperties[] = [
	databasePathProperty,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: OPERATIONS.map((operation) => operation.option),
		default: 'runCommand',
	},
	...OPERATIONS.flatMap((operation) => operation.properties),
	...supervisionProperties,
	...handshakeProperties,
	lockBackendProperty,
	optionsProperty,
];
