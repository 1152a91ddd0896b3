/** DuckDB Safe Ingest: the parameters. Execution is in execute.ts. */
import type { INodeProperties } from 'n8n-workflow';
import { databasePathProperty } from '../shared/descriptions';
import { leaseOptions, lockBackendProperty } from '../shared/lock-backend';
import { ingestFilesProperties, runSqlProperties, operationOptions } from './operations.description';

const runCommand = { show: { operation: ['runCommand'] } };

export const safeIngestProperties: INodeProperties[] = [
	databasePathProperty,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Run Command',
				value: 'runCommand',
				description: 'Run your ingestion program (a Python script, a CLI) under the database lock',
				action: 'Run a command under the database lock',
			},
			{
				name: 'Ingest Files',
				value: 'ingestFiles',
				description: 'Load CSV, Parquet or JSON files into a table, each file once, under the database lock',
				action: 'Ingest files into a table',
			},
			{
				name: 'Run SQL',
				value: 'runSql',
				description: 'Run a SQL script in one transaction under the database lock, confined to allowed folders',
				action: 'Run a SQL script',
			},
		],
		default: 'runCommand',
	},
	{
		displayName: 'Command',
		name: 'command',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'python3',
		description: 'The program to run: a name found on PATH, or an absolute path. Arguments go below, one per entry.',
		displayOptions: runCommand,
	},
	{
		displayName: 'Arguments',
		name: 'arguments',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Argument',
		description: 'Passed to the program as separate arguments, exactly as written (never through a shell), so values from expressions cannot inject commands',
		displayOptions: runCommand,
		options: [
			{
				displayName: 'Argument',
				name: 'argument',
				values: [{ displayName: 'Value', name: 'value', type: 'string', default: '', placeholder: '--symbol' }],
			},
		],
	},
	{
		displayName: 'Use Shell',
		name: 'useShell',
		type: 'boolean',
		default: false,
		description: 'Whether to run Command as a /bin/sh line instead of a program. The Arguments are then passed to the line as $1, $2, ... (never spliced into it).',
		displayOptions: runCommand,
	},
	{
		displayName:
			'With a shell, Command is interpreted by /bin/sh: an expression inside Command whose value contains ; or $( ) can run other commands. Keep values in Arguments and refer to them as "$1", "$2" in the line, or prefer a program without a shell.',
		name: 'shellWarning',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['runCommand'], useShell: [true] } },
	},
	{
		displayName: 'Working Directory',
		name: 'workingDirectory',
		type: 'string',
		default: '',
		placeholder: '/opt/ingest',
		description: 'Folder the command runs in. Empty: the folder n8n runs in.',
		displayOptions: runCommand,
	},
	{
		displayName: 'Environment Variables',
		name: 'environment',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Variable',
		description: 'Extra environment variables for the command. Put secrets in the DuckDB Job Secrets credential instead.',
		displayOptions: runCommand,
		options: [
			{
				displayName: 'Variable',
				name: 'variable',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'DATA_DIR' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	...ingestFilesProperties,
	...runSqlProperties,
	{
		displayName: 'Timeout (Minutes)',
		name: 'timeoutMinutes',
		type: 'number',
		typeOptions: { minValue: 0.01, numberPrecision: 2 },
		default: 120,
		description: 'Wall-clock limit. At the deadline the whole job (every process it started) gets SIGTERM, then SIGKILL after the grace period, and the item goes to the Timeout output.',
	},
	{
		displayName: 'Grace Period (Seconds)',
		name: 'graceSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 10,
		description: 'Time between SIGTERM and SIGKILL when the job is stopped (timeout or Stop)',
	},
	{
		displayName: 'Wait for Lock (Seconds)',
		name: 'waitSeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'How long to wait when another run holds the database. 0: go to the Blocked output at once.',
	},
	lockBackendProperty,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Log File',
				name: 'logFile',
				type: 'string',
				default: '',
				placeholder: '/data/logs/ingest.log',
				description: 'Append the job\'s output (for Ingest Files: one line per file) to this file',
			},
			{
				displayName: 'Output Tail Size (KiB)',
				name: 'tailKib',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 64,
				description: 'How much of the end of stdout and of stderr the output item keeps',
			},
			...operationOptions,
			...leaseOptions,
		],
	},
];
