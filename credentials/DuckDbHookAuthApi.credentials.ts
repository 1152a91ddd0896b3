import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * How the Before and After hook requests authenticate with the program that shares the database (an API server):
 * a header (an API key, a bearer token) or HTTP basic auth. The same fields as n8n's Header Auth and Basic Auth
 * credentials, which a community package may not reuse.
 */
export class DuckDbHookAuthApi implements ICredentialType {
	name = 'duckDbHookAuthApi';

	displayName = 'DuckDB Hook Auth API';

	icon = 'file:duckdbHook.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-duckdb-safe-ingest/n8n-nodes-duckdb-safe-ingest/blob/main/docs/sharing.md';

	properties: INodeProperties[] = [
		{
			// Deny by default: whoever edits a workflow picks the hook's URL, so the credential says where it may go.
			displayName: 'Allowed Hosts',
			name: 'allowedHosts',
			type: 'string',
			default: '',
			placeholder: 'api.internal, 127.0.0.1:8000, *.example.com',
			description:
				'The hosts the hook requests may send this credential to, separated by commas (host, host:port, or *.domain). Empty: sent nowhere.',
			required: true,
		},
		{
			displayName: 'Type',
			name: 'type',
			type: 'options',
			default: 'header',
			options: [
				{ name: 'Header', value: 'header' },
				{ name: 'Basic Auth', value: 'basic' },
			],
		},
		{
			displayName: 'Header Name',
			name: 'name',
			type: 'string',
			default: 'Authorization',
			displayOptions: { show: { type: ['header'] } },
		},
		{
			displayName: 'Header Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { type: ['header'] } },
		},
		{ displayName: 'User', name: 'user', type: 'string', default: '', displayOptions: { show: { type: ['basic'] } } },
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { type: ['basic'] } },
		},
	];
}
