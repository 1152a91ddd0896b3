import type { ICredentialType, INodeProperties } from 'n8n-workflow';

import { SECRET_PAIRS } from './job-secrets';

function pair(index: number): INodeProperties[] {
	return [
		{
			displayName: `Variable ${index} Name`,
			name: `name${index}`,
			type: 'string',
			default: '',
			placeholder: index === 1 ? 'BINANCE_API_KEY' : '',
			description: 'Environment variable name the job sees (letters, digits and underscores)',
		},
		{
			displayName: `Variable ${index} Value`,
			name: `value${index}`,
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Secret value; masked in every output tail, summary and error message of the node',
		},
	];
}

/**
 * Secrets a job needs (API keys, tokens), passed to it as environment variables, kept out of the workflow and
 * masked in everything the node outputs.
 */
export class DuckDbJobSecretsApi implements ICredentialType {
	name = 'duckDbJobSecretsApi';

	displayName = 'DuckDB Job Secrets API';

	icon = 'file:duckdbSecrets.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-duckdb-safe-ingest/n8n-nodes-duckdb-safe-ingest/blob/main/docs/node-reference.md#node-duckdb-safe-ingest';

	properties: INodeProperties[] = Array.from({ length: SECRET_PAIRS }, (_unused, index) => pair(index + 1)).flat();
}
