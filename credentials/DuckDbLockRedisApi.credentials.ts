import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The Redis server that decides the database lock when n8n runs workers on several machines (usually the Redis of
 * n8n's queue mode). The same fields as n8n's own Redis credential, which a community package may not reuse.
 */
export class DuckDbLockRedisApi implements ICredentialType {
	name = 'duckDbLockRedisApi';

	displayName = 'DuckDB Lock Redis API';

	icon = 'file:duckdbRedis.svg' as const;

	documentationUrl =
		'https://github.com/n8n-nodes-duckdb-safe-ingest/n8n-nodes-duckdb-safe-ingest/blob/main/docs/lock.md#several-n8n-workers-leases-and-the-redis-lock';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost', placeholder: 'redis' },
		{ displayName: 'Port', name: 'port', type: 'number', default: 6379 },
		{ displayName: 'User', name: 'user', type: 'string', default: '', hint: 'Leave blank for password-only auth' },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{ displayName: 'Database Number', name: 'database', type: 'number', default: 0 },
		{ displayName: 'SSL', name: 'ssl', type: 'boolean', default: false },
		{
			displayName: 'Disable TLS Verification (Insecure)',
			name: 'disableTlsVerification',
			type: 'boolean',
			default: false,
			description: 'Whether to accept a self-signed certificate',
			displayOptions: { show: { ssl: [true] } },
		},
	];
}
