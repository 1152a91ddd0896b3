/**
 * DuckDB Safe Ingest's execute: each input item is one run under the lock of the operation it names; its outcome
 * goes to exactly one output (Run SQL with Return Rows: its rows). Secrets are masked in everything that leaves.
 */
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { maskSecrets } from '../../../lib/base/mask';
import { runOperation } from '../../../lib/operations/dispatch';
import type { Outcome } from '../../../lib/outcome/outcome';
import { OUTPUT_NAMES, outputIndexFor } from '../../../lib/outcome/status';
import { SECRETS_CREDENTIAL, secretsFrom } from '../../../credentials/job-secrets';
import { asNodeError, databaseFor, item } from '../../shared/glue';
import { OPERATIONS } from './operations';
import { supervisionFor } from './settings';

async function runItem(
	context: IExecuteFunctions,
	itemIndex: number,
	secrets: Record<string, string>,
): Promise<Outcome> {
	const name = context.getNodeParameter('operation', itemIndex, 'runCommand') as string;
	const operation = OPERATIONS.find((candidate) => candidate.option.value === name);
	if (!operation) throw new NodeOperationError(context.getNode(), `Unknown operation "${name}"`, { itemIndex });
	const databasePath = await databaseFor(context, itemIndex);
	const request = await operation.request(context, itemIndex, databasePath, secrets);
	return runOperation(request, await supervisionFor(context, itemIndex));
}

/** A node error with every trace of the secrets masked: its message, description and stack (which repeats it). */
function maskedError(
	context: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
	secrets: string[],
): NodeOperationError {
	const nodeError = asNodeError(context, error, itemIndex);
	nodeError.message = maskSecrets(nodeError.message, secrets);
	if (nodeError.description) nodeError.description = maskSecrets(nodeError.description, secrets);
	if (nodeError.stack) nodeError.stack = maskSecrets(nodeError.stack, secrets);
	return nodeError;
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

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = OUTPUT_NAMES.map(() => []);
	for (let itemIndex = 0; itemIndex < this.getInputData().length; itemIndex++) {
		let secrets: Record<string, string> = {};
		let outcome: Outcome;
		try {
			if (this.getNode().credentials?.[SECRETS_CREDENTIAL])
				secrets = secretsFrom(await this.getCredentials<ICredentialDataDecryptedObject>(SECRETS_CREDENTIAL, itemIndex));
			outcome = await runItem(this, itemIndex, secrets);
		} catch (error) {
			const nodeError = maskedError(this, error, itemIndex, Object.values(secrets));
			if (!this.continueOnFail()) throw nodeError;
			// Only an `error` key: with "Continue (using error output)" n8n moves it to the Error output.
			outputs[outputIndexFor('failed')!].push(item({ error: nodeError.message }, itemIndex));
			continue;
		}
		// Never an item, whatever "Continue on fail" says: the execution is being stopped (job stopped, lock released).
		if (outcome.status === 'canceled')
			throw new NodeOperationError(
				this.getNode(),
				maskSecrets(`Execution canceled: ${outcome.summary}`, Object.values(secrets)),
				{ itemIndex },
			);
		route(outputs, outcome, itemIndex, Object.values(secrets));
	}
	return outputs;
}
