import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { lockCleanupProperties } from './description';
import { executeLockCleanup } from './execute';
import { CLEANUP_OUTPUT_NAMES } from '../../lib/outcome/status';
import { testLockRedis } from '../shared/lock-backend';
import { testHookAuth } from '../../credentials/hook-auth';

// Deliberately not usable as an AI tool (no usableAsTool): it can stop processes on the n8n host.
// eslint-disable-next-line @n8n/community-nodes/node-usable-as-tool
export class DuckDbLockCleanup implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DuckDB Lock Cleanup',
		name: 'duckDbLockCleanup',
		icon: { light: 'file:duckdbCleanup.svg', dark: 'file:duckdbCleanup.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ String($parameter["databasePath"] || "").split("/").pop() }}',
		description: 'Find and report what holds a DuckDB database; remove stale locks, stop stuck jobs, recover the WAL',
		defaults: { name: 'DuckDB Lock Cleanup' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: [...CLEANUP_OUTPUT_NAMES],
		// The Redis server of the Redis lock backend.
		credentials: [
			{
				name: 'duckDbLockRedisApi',
				required: true,
				testedBy: 'duckDbLockRedisTest',
				displayOptions: { show: { lockBackend: ['redis'] } },
			},
			// The After hook's request authentication.
			{
				name: 'duckDbHookAuthApi',
				required: true,
				testedBy: 'duckDbHookAuthTest',
				displayOptions: { show: { hookAuthentication: ['credential'] } },
			},
		],
		properties: lockCleanupProperties,
	};

	methods = { credentialTest: { duckDbLockRedisTest: testLockRedis, duckDbHookAuthTest: testHookAuth } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeLockCleanup.call(this);
	}
}
