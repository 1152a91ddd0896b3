/** DuckDB Lock Cleanup: the parameters. Execution is in execute.ts. */
import type { INodeProperties } from 'n8n-workflow';
import { databasePathProperty } from '../shared/descriptions';
import { leaseOptions, lockBackendProperty } from '../shared/lock-backend';
import { cleanupAfterProperties } from '../shared/hook-properties';

export const lockCleanupProperties: INodeProperties[] = [
	databasePathProperty,
	{
		displayName: 'Action',
		name: 'action',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Inspect Only',
				value: 'inspect',
				description: 'Report the lock, its holders and WAL files; change nothing',
				action: 'Inspect the database lock',
			},
			{
				name: 'Remove Stale Locks',
				value: 'removeStale',
				description: 'Also remove PID files whose holder is provably gone (always safe)',
				action: 'Remove stale database locks',
			},
			{
				name: 'Stop Stuck Jobs',
				value: 'stopStuck',
				description: 'Also stop our own jobs (named by the PID file) running longer than Stuck After',
				action: 'Stop stuck ingestion jobs',
			},
			{
				name: 'Stop Any Holder',
				value: 'stopAny',
				description: 'Also stop any process holding the database (API servers, duckdb shells): use with care',
				action: 'Stop any process holding the database',
			},
		],
		default: 'removeStale',
		description:
			'What the node may do. Choosing an action that stops processes is the confirmation: the node never prompts.',
	},
	{
		displayName: 'Stuck After (Minutes)',
		name: 'stuckAfterMinutes',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 180,
		description: 'Our jobs running at least this long are stopped',
		displayOptions: { show: { action: ['stopStuck'] } },
	},
	{
		displayName: 'Recover WAL',
		name: 'recoverWal',
		type: 'boolean',
		default: false,
		description:
			'Whether to replay and checkpoint a WAL left by a crash when nothing holds the database (committed data is kept; no WAL file is ever deleted)',
		displayOptions: { hide: { action: ['inspect'] } },
	},
	{
		displayName: 'Grace Period (Seconds)',
		name: 'graceSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 10,
		description: 'Time between SIGTERM and SIGKILL when a process is stopped',
		displayOptions: { show: { action: ['stopStuck', 'stopAny'] } },
	},
	...cleanupAfterProperties.map((property) => ({
		...property,
		displayOptions: { ...property.displayOptions, hide: { action: ['inspect'] } },
	})),
	lockBackendProperty,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [...leaseOptions],
	},
];
