/**
 * DuckDB Safe Ingest: reading the parameters every operation shares (database, timing, options) and those of the
 * built-in operations into the core's specs. File paths go through the instance's file-access policy first.
 */
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';
import { globBase, normaliseSource, parseNameList, type IngestSpec, type SqlSpec } from '../../lib/operations/spec';
import type { OperationRunOptions } from '../../lib/operations/supervise-worker';
import { allowedPath, cancelSignal, instanceFolders, ownerLabel } from '../shared/glue';
import { lockBackendFor } from '../shared/lock-backend';

export interface SharedOptions {
	logFile?: string;
	tailKib?: number;
	extraFolders?: string;
	threads?: number;
	memoryLimit?: string;
}

function positiveNumber(context: IExecuteFunctions, name: string, label: string, itemIndex: number, allowZero: boolean): number {
	const raw = context.getNodeParameter(name, itemIndex) as unknown;
	const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
	if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || String(raw).trim() === '') {
		throw new NodeOperationError(context.getNode(), `${label} must be a number${allowZero ? '' : ' greater than 0'} (got "${String(raw)}")`, { itemIndex });
	}
	return value;
}

export function sharedOptions(context: IExecuteFunctions, itemIndex: number): SharedOptions {
	return context.getNodeParameter('options', itemIndex, {}) as SharedOptions;
}

/** Timeout, grace, lock wait, owner, log file, tail size and the cancel signal: how any operation is supervised. */
export async function supervisionFor(context: IExecuteFunctions, itemIndex: number): Promise<OperationRunOptions> {
	const options = sharedOptions(context, itemIndex);
	const logFile = options.logFile?.trim() ? await allowedPath(context, options.logFile.trim(), 'log file', itemIndex) : undefined;
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
	};
}

async function databaseSettings(context: IExecuteFunctions, itemIndex: number, databasePath: string): Promise<Pick<IngestSpec, 'databasePath' | 'extraDirectories' | 'threads' | 'memoryLimit'>> {
	const options = sharedOptions(context, itemIndex);
	const extra: string[] = [];
	for (const folder of parseNameList(options.extraFolders ?? '')) extra.push(await allowedPath(context, folder, 'allowed folder', itemIndex));
	return {
		databasePath,
		extraDirectories: [...instanceFolders(context), ...extra],
		threads: options.threads,
		memoryLimit: options.memoryLimit?.trim() || undefined,
	};
}

export async function ingestSpecFor(context: IExecuteFunctions, itemIndex: number, databasePath: string): Promise<IngestSpec> {
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
	const files = context.getNodeParameter('fileOptions', itemIndex, {}) as { format?: IngestSpec['format']; csvHeader?: IngestSpec['csvHeader']; csvDelimiter?: string };
	const columns = (context.getNodeParameter('columns.column', itemIndex, []) as Array<{ name?: unknown; type?: unknown }>)
		.map((column) => ({ name: String(column.name ?? '').trim(), type: String(column.type ?? '').trim() }))
		.filter((column) => column.name);
	return {
		...(await databaseSettings(context, itemIndex, databasePath)),
		sources,
		table: String(context.getNodeParameter('table', itemIndex)).trim(),
		mode: context.getNodeParameter('writeMode', itemIndex, 'append') as IngestSpec['mode'],
		primaryKey: parseNameList(String(context.getNodeParameter('primaryKey', itemIndex, ''))),
		columns: columns.length ? columns : undefined,
		format: files.format,
		csvHeader: files.csvHeader,
		csvDelimiter: files.csvDelimiter || undefined,
	};
}

export async function sqlSpecFor(context: IExecuteFunctions, itemIndex: number, databasePath: string): Promise<SqlSpec> {
	const returnRows = context.getNodeParameter('returnRows', itemIndex, false) as boolean;
	return {
		...(await databaseSettings(context, itemIndex, databasePath)),
		sql: String(context.getNodeParameter('sql', itemIndex)),
		returnRows,
		rowLimit: returnRows ? (context.getNodeParameter('rowLimit', itemIndex, 1000) as number) : undefined,
	};
}
