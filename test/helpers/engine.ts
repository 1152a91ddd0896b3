/**
 * Runs workflows with our nodes inside n8n's real execution engine (n8n-core's WorkflowExecute), for both engine
 * lines: n8n 2.x (n8n-core 2.41) and n8n 1.x (n8n-core 1.122, the last 1.x release's). Only the node-types registry,
 * a start node and a credential store stand in for the n8n server.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	NodeConnectionTypes,
	type IDataObject,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
	type IExecuteFunctions,
} from 'n8n-workflow';

export type EngineLine = 'v2' | 'v1';

export interface WorkflowNode {
	name: string;
	type: string;
	parameters: IDataObject;
	credentials?: Record<string, { id: string; name: string }>;
	onError?: 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';
	position?: [number, number];
	typeVersion?: number;
}

export interface EngineRun {
	status: string;
	/** Items per output of a node: outputs(nodeName)[outputIndex] */
	outputs(nodeName: string): INodeExecutionData[][];
	error?: { message: string };
	raw: unknown;
}

export const PACKAGE = 'n8n-nodes-duckdb-safe-ingest';

interface RunResult {
	status: string;
	data?: {
		resultData?: {
			error?: { message: string };
			runData?: Record<string, Array<{ data?: { main?: INodeExecutionData[][] } }>>;
		};
	};
}

/** Emits the items given as JSON in its `items` parameter (a manual trigger that carries data). */
class StartNode implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Start',
		name: 'start',
		group: ['trigger'],
		version: 1,
		description: 'Test start node',
		defaults: { name: 'Start' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Items', name: 'items', type: 'json', default: '[{}]' }],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = JSON.parse(String(this.getNodeParameter('items', 0, '[{}]'))) as IDataObject[];
		return [items.map((json, index) => ({ json, pairedItem: { item: index } }))];
	}
}

export function loadEngine(line: EngineLine) {
	if (!process.env.N8N_USER_FOLDER) process.env.N8N_USER_FOLDER = mkdtempSync(join(tmpdir(), 'n8n-engine-'));
	/* eslint-disable @typescript-eslint/no-require-imports */
	const core = require(line === 'v2' ? 'n8n-core' : 'n8n-core-v1');
	const workflowPackage = require('n8n-workflow');
	const { DuckDbSafeIngest } = require('../../nodes/DuckDbSafeIngest/DuckDbSafeIngest.node');
	const { DuckDbLockCleanup } = require('../../nodes/DuckDbLockCleanup/DuckDbLockCleanup.node');
	/* eslint-enable @typescript-eslint/no-require-imports */
	const types: Record<string, INodeType> = {
		[`${PACKAGE}.duckDbSafeIngest`]: new DuckDbSafeIngest(),
		[`${PACKAGE}.duckDbLockCleanup`]: new DuckDbLockCleanup(),
		'test.start': new StartNode(),
	};
	const nodeTypes = {
		getByName: (type: string) => types[type],
		getByNameAndVersion: (type: string) => types[type],
		getKnownTypes: () =>
			Object.fromEntries(Object.keys(types).map((type) => [type, { className: type, sourcePath: '' }])),
	};

	/** Starts a workflow: Start (with `items`) → `nodes[0]` → ... as connected by `connections`. */
	function start(spec: {
		nodes: WorkflowNode[];
		connections: IDataObject;
		items?: IDataObject[];
		settings?: IDataObject;
		credentials?: Record<string, IDataObject>;
	}) {
		const startNode = {
			name: 'Start',
			type: 'test.start',
			typeVersion: 1,
			position: [0, 0],
			parameters: { items: JSON.stringify(spec.items ?? [{}]) },
		};
		const nodes = [
			startNode,
			...spec.nodes.map((node, index) => ({ typeVersion: 1, position: [200 * (index + 1), 0], ...node })),
		];
		const workflowData = {
			id: 'wf-test',
			name: 'engine test',
			nodes,
			connections: spec.connections,
			active: false,
			settings: spec.settings ?? {},
		};
		const workflow = new workflowPackage.Workflow({ ...workflowData, nodeTypes });
		const executionId = `exec-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
		const hooks = new core.ExecutionLifecycleHooks('manual', executionId, workflowData);
		const url = 'http://127.0.0.1:5678/';
		const additionalData = {
			hooks,
			executionId,
			variables: {},
			currentNodeExecutionIndex: 0,
			restApiUrl: `${url}rest`,
			webhookBaseUrl: `${url}webhook`,
			webhookWaitingBaseUrl: `${url}webhook-waiting`,
			webhookTestBaseUrl: `${url}webhook-test`,
			formWaitingBaseUrl: `${url}form-waiting`,
			instanceBaseUrl: url,
			// Stands in for n8n's encrypted credential store: hands the nodes the decrypted values a test gives. The real
			// store is exercised end to end with the Job Secrets credential (the failing-job scenario), not with Redis's.
			credentialsHelper: {
				getDecrypted: async (_data: unknown, _nodeCredentials: unknown, type: string) => spec.credentials?.[type] ?? {},
				getCredentialsProperties: () => [],
				isCredentialUsableByNode: () => true,
				getParentTypes: () => [],
				authenticate: async (_credentials: unknown, _type: string, options: unknown) => options,
				preAuthentication: async () => undefined,
				updateCredentials: async () => undefined,
				updateCredentialsOauthTokenData: async () => undefined,
			},
		};
		const execute = new core.WorkflowExecute(additionalData, 'manual');
		const startEntry = workflow.getNode('Start');
		const promise =
			line === 'v2' ? execute.run({ workflow, startNode: startEntry }) : execute.run(workflow, startEntry);
		const done: Promise<EngineRun> = Promise.resolve(promise).then((result: RunResult) => ({
			status: result.status,
			error: result.data?.resultData?.error,
			raw: result,
			outputs: (nodeName: string) => result.data?.resultData?.runData?.[nodeName]?.[0]?.data?.main ?? [],
		}));
		return { done, cancel: () => promise.cancel() };
	}

	return { line, start, run: (spec: Parameters<typeof start>[0]) => start(spec).done };
}

export type Engine = ReturnType<typeof loadEngine>;
