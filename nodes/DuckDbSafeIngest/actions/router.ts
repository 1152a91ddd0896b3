/**
 * DuckDB Safe Ingest's execute: each input item is a run under the lock of the operation it names; its outcome goes
 * to exactly one output (Run SQL with Return Rows: its rows). Consecutive items of a built-in operation on the same
 * database and settings share one lock and one worker (each still its own transaction and outcome). Secrets are
 * masked in everything that leaves.
 */
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { maskSecrets } from '../../../lib/base/mask';
import { prepareRun, runPrepared, sameWorker, type PreparedRun } from '../../../lib/operations/dispatch';
import type { Outcome } from '../../../lib/outcome/outcome';
import { OUTPUT_NAMES, outputIndexFor } from '../../../lib/outcome/status';
import { SECRETS_CREDENTIAL, secretsFrom } from '../../../credentials/job-secrets';
import { databaseFor, item, rememberPaths } from '../../shared/glue';
import { OPERATIONS } from './operations';
import { failItem } from './item-errors';
import { insertRowsExecute } from './insertRows.execute';
import { supervisionFor } from './settings';

async function prepareItem(
	context: IExecuteFunctions,
	itemIndex: number,
	secrets: Record<string, string>,
): Promise<PreparedRun> {
	const name = context.getNodeParameter('operation', itemIndex, 'runCommand') as string;
	const operation = OPERATIONS.find((candidate) => candidate.option.value === name);
	if (!operation) throw new NodeOperationError(context.getNode(), `Unknown operation "${name}"`, { itemIndex });
	const databasePath = await databaseFor(context, itemIndex);
	const request = await operation.request(context, itemIndex, databasePath, secrets);
	return prepareRun(request, await supervisionFor(context, itemIndex));
}

/** Where an outcome goes: its status's output; Run SQL's returned rows are the Success items, like n8n's database nodes. */
function route(outputs: INodeExecutionData[][], outcome: Outcome, itemIndex: number, secrets: string[]): void {
	const rows = outcome.status === 'success' && outcome.sql?.rows?.length ? outcome.sql.rows : undefined;
	if (rows) for (const row of rows) outputs[outputIndexFor('success')!].push(item(row as IDataObject, itemIndex));
	else
		outputs[outputIndexFor(outcome.status)!].push(
			item(maskSecrets(outcome, secrets) as unknown as IDataObject, itemIndex),
		);
}

/** Items checked and waiting to run together, with the secrets to mask in each one's output. */
interface Batch {
	runs: PreparedRun[];
	items: Array<{ index: number; secrets: string[] }>;
}

/** Runs the batch and routes each item's outcome; a canceled one stops the execution (never an item). */
async function flush(context: IExecuteFunctions, batch: Batch, outputs: INodeExecutionData[][]): Promise<void> {
	if (!batch.runs.length) return;
	// What runs may change the files: the items after it resolve their paths anew.
	rememberPaths(context);
	const runs = batch.runs.splice(0);
	const items = batch.items.splice(0);
	let outcomes: Outcome[];
	try {
		outcomes = await runPrepared(runs);
	} catch (error) {
		// Refused before anything ran (bad options): every item of the batch says so.
		for (const { index, secrets } of items) failItem(context, error, index, secrets, outputs);
		return;
	}
	outcomes.forEach((outcome, position) => {
		const { index, secrets } = items[position];
		// Whatever "Continue on fail" says: the execution is being stopped (job stopped, lock released).
		if (outcome.status === 'canceled')
			throw new NodeOperationError(context.getNode(), maskSecrets(`Execution canceled: ${outcome.summary}`, secrets), {
				itemIndex: index,
			});
		route(outputs, outcome, index, secrets);
	});
}

/** The item's secrets and checked run; throws what the item's parameters make impossible. */
async function prepareWithSecrets(
	context: IExecuteFunctions,
	itemIndex: number,
	found: { secrets: Record<string, string> },
): Promise<PreparedRun> {
	if (context.getNode().credentials?.[SECRETS_CREDENTIAL])
		found.secrets = secretsFrom(
			await context.getCredentials<ICredentialDataDecryptedObject>(SECRETS_CREDENTIAL, itemIndex),
		);
	return prepareItem(context, itemIndex, found.secrets);
}

/** The item's checked run, or why it could not be checked. */
async function attempt(prepare: () => Promise<PreparedRun>): Promise<PreparedRun | { failure: unknown }> {
	try {
		return await prepare();
	} catch (failure) {
		return { failure };
	}
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	// Insert Rows takes the items as rows of one run, not one run each (the operation is the same for every item).
	if (this.getInputData().length && this.getNodeParameter('operation', 0, 'runCommand') === 'insertRows')
		return insertRowsExecute(this);
	const outputs: INodeExecutionData[][] = OUTPUT_NAMES.map(() => []);
	const batch: Batch = { runs: [], items: [] };
	rememberPaths(this);
	for (let itemIndex = 0; itemIndex < this.getInputData().length; itemIndex++) {
		const found: { secrets: Record<string, string> } = { secrets: {} };
		let prepared = await attempt(() => prepareWithSecrets(this, itemIndex, found));
		if ('failure' in prepared && batch.runs.length) {
			// Checked before the items waiting in the batch ran: they may make it possible (a folder they create). A
			// cancel met while they run is thrown from here, never turned into this item's error.
			await flush(this, batch, outputs);
			prepared = await attempt(() => prepareWithSecrets(this, itemIndex, found));
		}
		if ('failure' in prepared) {
			failItem(this, prepared.failure, itemIndex, Object.values(found.secrets), outputs);
			continue;
		}
		if (batch.runs.length && !sameWorker(batch.runs[0], prepared)) await flush(this, batch, outputs);
		batch.runs.push(prepared);
		batch.items.push({ index: itemIndex, secrets: Object.values(found.secrets) });
		// A run that cannot share a worker (a user's command) runs before the next item is even checked, as always.
		if (!prepared.key) await flush(this, batch, outputs);
	}
	await flush(this, batch, outputs);
	return outputs;
}
