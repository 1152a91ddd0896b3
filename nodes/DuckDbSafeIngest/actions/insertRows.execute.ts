/**
 * Insert Rows' execute: all input items with the same database, table and settings become the rows of one run under
 * the lock. Each item's row is written to the run's row file as it is read (never a second copy of the items); the
 * outcome goes to its status's output, once paired with every item of the run, or once per item with its fate.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import { runOperation } from '../../../lib/operations/dispatch';
import { itemFate } from '../../../lib/operations/insert-rows/fates';
import { RowFileWriter } from '../../../lib/operations/insert-rows/row-file';
import type { InsertSpec } from '../../../lib/operations/insert-rows/spec';
import type { OperationRunOptions } from '../../../lib/operations/supervise-worker';
import type { Outcome } from '../../../lib/outcome/outcome';
import { OUTPUT_NAMES, outputIndexFor } from '../../../lib/outcome/status';
import { databaseFor, rememberPaths } from '../../shared/glue';
import { failItem } from './item-errors';
import { rowOf, specFor } from './insertRows.operation';
import { supervisionFor } from './settings';

interface Group {
	spec: Omit<InsertSpec, 'rows'>;
	output: 'outcome' | 'perItem';
	supervision: OperationRunOptions;
	writer: RowFileWriter;
	items: number[];
}

/** Items share a run when everything but their row is equal (the cancel signal is the execution's own). */
function groupKey(spec: object, supervision: OperationRunOptions): string {
	return JSON.stringify([spec, { ...supervision, signal: undefined }]);
}

async function collect(context: IExecuteFunctions, outputs: INodeExecutionData[][]): Promise<Group[]> {
	const groups = new Map<string, Group>();
	let collected = false;
	try {
		for (let itemIndex = 0; itemIndex < context.getInputData().length; itemIndex++)
			await collectItem(context, itemIndex, groups, outputs);
		collected = true;
	} finally {
		// The execution fails on an item: the rows written so far are removed.
		if (!collected) for (const group of groups.values()) group.writer.dispose();
	}
	return [...groups.values()];
}

async function collectItem(
	context: IExecuteFunctions,
	itemIndex: number,
	groups: Map<string, Group>,
	outputs: INodeExecutionData[][],
): Promise<void> {
	try {
		const { output, ...spec } = await specFor(context, itemIndex, await databaseFor(context, itemIndex));
		const supervision = await supervisionFor(context, itemIndex);
		const key = groupKey(spec, supervision);
		let group = groups.get(key);
		if (!group) groups.set(key, (group = { spec, output, supervision, writer: new RowFileWriter(), items: [] }));
		group.writer.add(rowOf(context, itemIndex));
		group.items.push(itemIndex);
	} catch (error) {
		failItem(context, error, itemIndex, [], outputs);
	}
}

function route(outputs: INodeExecutionData[][], group: Group, outcome: Outcome): void {
	const output = outputs[outputIndexFor(outcome.status)!];
	if (group.output === 'outcome') {
		output.push({ json: outcome as unknown as IDataObject, pairedItem: group.items.map((item) => ({ item })) });
		return;
	}
	group.items.forEach((item, position) =>
		output.push({
			json: {
				fate: itemFate(outcome, position),
				status: outcome.status,
				summary: outcome.summary,
				table: group.spec.table,
			},
			pairedItem: { item },
		}),
	);
}

async function runGroup(context: IExecuteFunctions, group: Group, outputs: INodeExecutionData[][]): Promise<void> {
	let outcome: Outcome;
	try {
		const spec: InsertSpec = { ...group.spec, rows: group.writer.finish() };
		outcome = await runOperation({ operation: 'insertRows', spec }, group.supervision);
	} catch (error) {
		for (const index of group.items) failItem(context, error, index, [], outputs);
		return;
	}
	if (outcome.status === 'canceled')
		throw new NodeOperationError(context.getNode(), `Execution canceled: ${outcome.summary}`, {
			itemIndex: group.items[0],
		});
	route(outputs, group, outcome);
}

export async function insertRowsExecute(context: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const outputs: INodeExecutionData[][] = OUTPUT_NAMES.map(() => []);
	rememberPaths(context);
	const groups = await collect(context, outputs);
	try {
		for (const group of groups) {
			rememberPaths(context);
			await runGroup(context, group, outputs);
		}
	} finally {
		for (const group of groups) group.writer.dispose();
	}
	return outputs;
}
