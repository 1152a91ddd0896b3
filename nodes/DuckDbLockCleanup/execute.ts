/** DuckDB Lock Cleanup: each input item is one cleanup of a database; the report goes to Clean, Recovered or Held. */
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { CLEANUP_OUTPUT_NAMES, CLEANUP_STATES } from '../../lib/outcome/status';
import { cleanupDatabase } from '../../lib/cleanup/cleanup';
import { asNodeError, cancelSignal, databaseFor, item } from '../shared/glue';
import { lockBackendFor } from '../shared/lock-backend';
import { cleanupAfterFor } from '../shared/hooks';
import { type CleanupPolicy } from '../../lib/cleanup/policy';

async function policyFor(context: IExecuteFunctions, itemIndex: number): Promise<CleanupPolicy> {
	const action = context.getNodeParameter('action', itemIndex) as 'inspect' | 'removeStale' | 'stopStuck' | 'stopAny';
	const number = (name: string, fallback: number): number => {
		const value = Number(context.getNodeParameter(name, itemIndex, fallback));
		if (!Number.isFinite(value) || value < 0)
			throw new NodeOperationError(context.getNode(), `${name} must be a number of 0 or more`, { itemIndex });
		return value;
	};
	return {
		removeStale: action !== 'inspect',
		stopStuckAfterMs: action === 'stopStuck' ? number('stuckAfterMinutes', 180) * 60_000 : undefined,
		stopAllHolders: action === 'stopAny',
		recoverWal: action !== 'inspect' && (context.getNodeParameter('recoverWal', itemIndex, false) as boolean),
		graceMs: action === 'stopStuck' || action === 'stopAny' ? number('graceSeconds', 10) * 1000 : undefined,
		signal: cancelSignal(context),
		...(await lockBackendFor(context, itemIndex)),
		...(action === 'inspect' ? {} : await cleanupAfterFor(context, itemIndex)),
	};
}

export async function executeLockCleanup(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputs: INodeExecutionData[][] = CLEANUP_OUTPUT_NAMES.map(() => []);
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const report = await cleanupDatabase(await databaseFor(this, itemIndex), await policyFor(this, itemIndex));
			outputs[CLEANUP_STATES[report.state].output].push(item(report as unknown as IDataObject, itemIndex));
		} catch (error) {
			const nodeError = asNodeError(this, error, itemIndex);
			if (!this.continueOnFail()) throw nodeError;
			outputs[CLEANUP_STATES.held.output].push(item({ error: nodeError.message }, itemIndex));
		}
	}
	return outputs;
}
