/**
 * What every operation of DuckDB Safe Ingest shares: how a run is supervised (timeout, grace, lock wait, owner, log
 * file, tail size, cancel signal, lock backend) and the DuckDB settings of the built-in operations, with their
 * parameters. File paths go through the instance's file-access policy first.
 */
import { NodeOperationError, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';
import type { IngestSpec } from '../../../lib/operations/spec';
import type { OperationRunOptions } from '../../../lib/operations/supervise-worker';
import { parseNameList } from '../../../lib/operations/spec';
import { allowedPath, cancelSignal, instanceFolders, ownerLabel } from '../../shared/glue';
import { leaseOptions, lockBackendFor } from '../../shared/lock-backend';
import { handshakeFor } from '../../shared/hooks';

const builtIn = { show: { '/operation': ['ingestFiles', 'runSql'] } };

/** Timeout, grace and lock wait: below the operations' own parameters. */
export const supervisionProperties: INodeProperties[] = [
	{
		displayName: 'Timeout (Minutes)',
		name: 'timeoutMinutes',
		type: 'number',
		typeOptions: { minValue: 0.01, numberPrecision: 2 },
		default: 120,
		description:
			'Wall-clock limit. At the deadline the whole job (every process it started) gets SIGTERM, then SIGKILL after the grace period, and the item goes to the Timeout output. Ingest Files and Run SQL items that share one worker each get the whole limit.',
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
];

/** Entries of the shared Options collection that only the built-in operations use. */
const builtInOptions: INodeProperties[] = [
	{
		displayName: 'Extra Allowed Folders',
		name: 'extraFolders',
		type: 'string',
		default: '',
		placeholder: '/data/exports, /data/reference',
		description:
			"Comma-separated folders SQL may also read and write. By default only the database's folder, the source folders and the instance's allowed folders (N8N_RESTRICT_FILE_ACCESS_TO).",
		displayOptions: builtIn,
	},
	{
		displayName: 'DuckDB Threads',
		name: 'threads',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 2,
		description: "Limit DuckDB's threads, to leave CPU for n8n. Unset: one per core.",
		displayOptions: builtIn,
	},
	{
		displayName: 'DuckDB Memory Limit',
		name: 'memoryLimit',
		type: 'string',
		default: '',
		placeholder: '2GB',
		description: "Limit DuckDB's memory (it spills to disk beyond it). Empty: 80% of the RAM.",
		displayOptions: builtIn,
	},
];

export const optionsProperty: INodeProperties = {
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
			description: "Append the job's output (for Ingest Files: one line per file) to this file",
		},
		{
			displayName: 'Output Tail Size (KiB)',
			name: 'tailKib',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 64,
			description: 'How much of the end of stdout and of stderr the output item keeps',
		},
		{
			displayName: 'Hook Timeout (Seconds)',
			name: 'hookTimeoutSeconds',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 30,
			description: 'The most the Before or the After hook may take',
		},
		...builtInOptions,
		...leaseOptions,
	],
};

export interface SharedOptions {
	logFile?: string;
	tailKib?: number;
	extraFolders?: string;
	threads?: number;
	memoryLimit?: string;
	hookTimeoutSeconds?: number;
}

function positiveNumber(
	context: IExecuteFunctions,
	name: string,
	label: string,
	itemIndex: number,
	allowZero: boolean,
): number {
	const raw = context.getNodeParameter(name, itemIndex) as unknown;
	const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
	if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || String(raw).trim() === '') {
		throw new NodeOperationError(
			context.getNode(),
			`${label} must be a number${allowZero ? '' : ' greater than 0'} (got "${String(raw)}")`,
			{ itemIndex },
		);
	}
	return value;
}

export function sharedOptions(context: IExecuteFunctions, itemIndex: number): SharedOptions {
	return context.getNodeParameter('options', itemIndex, {}) as SharedOptions;
}

/** Timeout, grace, lock wait, owner, log file, tail size and the cancel signal: how any operation is supervised. */
export async function supervisionFor(context: IExecuteFunctions, itemIndex: number): Promise<OperationRunOptions> {
	const options = sharedOptions(context, itemIndex);
	const logFile = options.logFile?.trim()
		? await allowedPath(context, options.logFile.trim(), 'log file', itemIndex)
		: undefined;
	const timeoutMinutes = positiveNumber(context, 'timeoutMinutes', 'Timeout (Minutes)', itemIndex, false);
	const graceSeconds = positiveNumber(context, 'graceSeconds', 'Grace Period (Seconds)', itemIndex, true);
	const waitSeconds = positiveNumber(context, 'waitSeconds', 'Wait for Lock (Seconds)', itemIndex, true);
	return {
		timeoutMs: Math.round(timeoutMinutes * 60_000),
		graceMs: Math.round(graceSeconds * 1000),
		waitMs: Math.round(waitSeconds * 1000),
		owner: ownerLabel(context),
		logFile,
		tailBytes: options.tailKib === undefined ? undefined : Math.round(options.tailKib * 1024),
		signal: cancelSignal(context),
		...(await lockBackendFor(context, itemIndex)),
		handshake: await handshakeFor(context, itemIndex, options.hookTimeoutSeconds),
	};
}

export async function databaseSettings(
	context: IExecuteFunctions,
	itemIndex: number,
	databasePath: string,
): Promise<Pick<IngestSpec, 'databasePath' | 'extraDirectories' | 'threads' | 'memoryLimit'>> {
	const options = sharedOptions(context, itemIndex);
	const extra: string[] = [];
	for (const folder of parseNameList(options.extraFolders ?? ''))
		extra.push(await allowedPath(context, folder, 'allowed folder', itemIndex));
	return {
		databasePath,
		extraDirectories: [...instanceFolders(context), ...extra],
		threads: options.threads,
		memoryLimit: options.memoryLimit?.trim() || undefined,
	};
}
