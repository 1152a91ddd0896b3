/** Building test workflows around our nodes: node entries, connections, argument lists, output items. */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { PACKAGE, type WorkflowNode } from './engine';

export const SAFE_INGEST = `${PACKAGE}.duckDbSafeIngest`;
export const CLEANUP = `${PACKAGE}.duckDbLockCleanup`;

export function connect(...names: string[]): IDataObject {
	const connections: IDataObject = {};
	for (let i = 0; i < names.length - 1; i++)
		connections[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	return connections;
}

export function ingestNode(parameters: IDataObject, extra: Partial<WorkflowNode> = {}): WorkflowNode {
	return {
		name: 'Ingest',
		type: SAFE_INGEST,
		parameters: {
			operation: 'runCommand',
			timeoutMinutes: 5,
			graceSeconds: 2,
			waitSeconds: 0,
			options: {},
			...parameters,
		},
		...extra,
	};
}

export function args(...values: string[]): IDataObject {
	return { argument: values.map((value) => ({ value })) };
}

export const json = (items: INodeExecutionData[] | undefined): IDataObject[] =>
	(items ?? []).map((entry) => entry.json);
