import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';
import { OUTPUT_NAMES } from '../../lib/outcome/status';
import { testJobSecrets } from '../../credentials/job-secrets';
import { testHookAuth } from '../../credentials/hook-auth';
import { testLockRedis } from '../shared/lock-backend';
import { properties } from './actions/properties';
import { router } from './actions/router';

// One run under the database lock per item. The operations live in actions/ (one file each), dispatched by the router.
// Deliberately not usable as an AI tool (no usableAsTool): it runs programs on the n8n host and holds a database lock
// for hours; an agent choosing its command line is exactly what the admin allowlist exists to prevent.
// eslint-disable-next-line @n8n/community-nodes/node-usable-as-tool
export class DuckDbSafeIngest implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DuckDB Safe Ingest',
		name: 'duckDbSafeIngest',
		icon: { light: 'file:duckdb.svg', dark: 'file:duckdb.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ ({ runCommand: "Run Command", ingestFiles: "Ingest Files", runSql: "Run SQL" })[$parameter["operation"]] + ": " + String($parameter["databasePath"] || "").split("/").pop() }}',
		description:
			'Run a DuckDB ingestion job, load files or run SQL under a database lock, with a timeout that stops the whole job',
		defaults: { name: 'DuckDB Safe Ingest' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: [...OUTPUT_NAMES],
		// Secrets are environment variables for a command; the Redis credential is the Redis lock backend's.
		credentials: [
			{
				name: 'duckDbJobSecretsApi',
				required: false,
				testedBy: 'duckDbJobSecretsTest',
				displayOptions: { show: { operation: ['runCommand'] } },
			},
			{
				name: 'duckDbLockRedisApi',
				required: true,
				testedBy: 'duckDbLockRedisTest',
				displayOptions: { show: { lockBackend: ['redis'] } },
			},
			// The Before and After hook requests' authentication.
			{
				name: 'duckDbHookAuthApi',
				required: true,
				testedBy: 'duckDbHookAuthTest',
				displayOptions: { show: { hookAuthentication: ['credential'] } },
			},
		],
		properties,
	};

	methods = {
		credentialTest: {
			duckDbJobSecretsTest: testJobSecrets,
			duckDbLockRedisTest: testLockRedis,
			duckDbHookAuthTest: testHookAuth,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
