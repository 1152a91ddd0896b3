/**
 * n8n glue used by both nodes: file-access policy checks, the lock's owner label, turning core errors into
 * NodeOperationError. No process handling and no lock logic here: that is the core's.
 */
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type IDataObject } from 'n8n-workflow';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { isDirectory } from '../../lib/base/paths';
import { UsageError } from '../../lib/base/errors';

/**
 * Paths resolved for the items of one batch (router.ts): they share one lock and one worker, which open what the first
 * item resolved, so one resolution serves them all (a realpath per item was a good part of an item's cost). The
 * router starts over before each batch runs (rememberPaths), since whatever runs may change the files; elsewhere
 * nothing is remembered. A failed resolution is never kept.
 */
const resolvedPaths = new WeakMap<IExecuteFunctions, Map<string, string>>();

/** From now on, the paths this execution resolves are remembered until the next call. */
export function rememberPaths(context: IExecuteFunctions): void {
	resolvedPaths.set(context, new Map());
}

async function resolveOnce(context: IExecuteFunctions, path: string): Promise<string> {
	const known = resolvedPaths.get(context);
	const hit = known?.get(path);
	if (hit !== undefined) return hit;
	const resolved = await context.helpers.resolvePath(path);
	known?.set(path, resolved);
	return resolved;
}

/**
 * Resolves a path the way n8n does and refuses it when the instance's file-access policy
 * (N8N_RESTRICT_FILE_ACCESS_TO, N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES) blocks it.
 */
export async function allowedPath(
	context: IExecuteFunctions,
	path: string,
	what: string,
	itemIndex: number,
): Promise<string> {
	let resolved: string;
	try {
		resolved = await resolveOnce(context, path);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		const message =
			code === 'ENOENT'
				? `The folder of the ${what} (${dirname(path)}) does not exist`
				: `The ${what} ${path} cannot be resolved (${code ?? String(error)})`;
		throw new NodeOperationError(context.getNode(), message, {
			itemIndex,
			description: 'Create the folder, or fix the path.',
		});
	}
	if (context.helpers.isFilePathBlocked(resolved as never)) {
		throw new NodeOperationError(
			context.getNode(),
			`Access to the ${what} ${resolved} is not allowed on this n8n instance`,
			{
				itemIndex,
				description:
					'The instance restricts file access (N8N_RESTRICT_FILE_ACCESS_TO / N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES). Use a path inside an allowed folder, or ask your admin to allow this one.',
			},
		);
	}
	return resolved;
}

/** n8n 2.x's allowed folder when N8N_RESTRICT_FILE_ACCESS_TO is unset. */
const N8N_DEFAULT_FILES_FOLDER = '~/.n8n-files';

/** N8N_RESTRICT_FILE_ACCESS_TO as n8n reads it: `;`-separated, `~` meaning the home folder. */
export function listedFolders(setting: string, home = homedir()): string[] {
	return setting
		.split(';')
		.map((folder) => folder.trim())
		.filter(Boolean)
		.map((folder) => (folder.startsWith('~') ? folder.replace('~', home) : folder));
}

/**
 * The folders this instance lets nodes read, which SQL may read too: none when n8n restricts nothing (n8n 1.x by
 * default); else N8N_RESTRICT_FILE_ACCESS_TO, or n8n 2.x's default ~/.n8n-files, as far as they exist.
 */
export function instanceFolders(context: IExecuteFunctions): string[] {
	if (!context.helpers.isFilePathBlocked('/' as never)) return [];
	return listedFolders(process.env.N8N_RESTRICT_FILE_ACCESS_TO ?? N8N_DEFAULT_FILES_FOLDER).filter(
		(folder) => isDirectory(folder) && !context.helpers.isFilePathBlocked(folder as never),
	);
}

/** The database path, resolved and allowed (with its lock file). */
export async function databaseFor(context: IExecuteFunctions, itemIndex: number): Promise<string> {
	const databasePath = String(context.getNodeParameter('databasePath', itemIndex)).trim();
	if (!databasePath)
		throw new NodeOperationError(context.getNode(), 'Database Path is empty', {
			itemIndex,
			description: 'Give the path of the DuckDB file, e.g. /data/liquidations.duckdb.',
		});
	const resolved = await allowedPath(context, databasePath, 'database', itemIndex);
	await allowedPath(context, `${resolved}.pid`, 'lock file', itemIndex);
	return resolved;
}

/** Who holds the lock, as written into the PID file: which workflow, execution and node. */
export function ownerLabel(context: IExecuteFunctions): string {
	const workflow = context.getWorkflow();
	return `n8n workflow ${workflow.id ?? '?'} "${workflow.name ?? ''}" execution ${context.getExecutionId() ?? '?'} node "${context.getNode().name}"`;
}

/** A core UsageError (bad configuration) as the node error n8n shows, with the item index. */
export function asNodeError(context: IExecuteFunctions, error: unknown, itemIndex: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const message = error instanceof Error ? error.message : String(error);
	return new NodeOperationError(context.getNode(), message, {
		itemIndex,
		description: error instanceof UsageError ? undefined : 'An unexpected error; please report it.',
	});
}

export function item(json: IDataObject, itemIndex: number): INodeExecutionData {
	return { json, pairedItem: { item: itemIndex } };
}

/** The execution's cancel signal (user Stop, or the workflow's execution timeout). */
export function cancelSignal(context: IExecuteFunctions): AbortSignal | undefined {
	return typeof context.getExecutionCancelSignal === 'function' ? context.getExecutionCancelSignal() : undefined;
}
