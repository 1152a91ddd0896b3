/** How an item that could not run is reported: the execution fails, or with "Continue on fail" the item says why. */
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { maskSecrets } from '../../../lib/base/mask';
import { outputIndexFor } from '../../../lib/outcome/status';
import { asNodeError, item } from '../../shared/glue';

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

/** An item that could not run: the execution fails, or with "Continue on fail" the item carries the error. */
export function failItem(
	context: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
	secrets: string[],
	outputs: INodeExecutionData[][],
): void {
	const nodeError = maskedError(context, error, itemIndex, secrets);
	if (!context.continueOnFail()) throw nodeError;
	// Only an `error` key: with "Continue (using error output)" n8n moves it to the Error output.
	outputs[outputIndexFor('failed')!].push(item({ error: nodeError.message }, itemIndex));
}
