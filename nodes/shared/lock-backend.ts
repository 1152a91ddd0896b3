/**
 * The lock backend, as both nodes offer it: Local File (the PID file decides; enough for one machine, including
 * several containers sharing a volume, thanks to the lease) or Redis (n8n queue-mode workers on several machines),
 * with n8n's own Redis credential, and the lease's stale period.
 */
import { isIP } from 'node:net';
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeProperties,
} from 'n8n-workflow';

import { RedisLockClient } from '../../lib/lock/redis-client';
import { messageOf } from '../../lib/base/errors';
import { type RedisBackendOptions } from '../../lib/lock/redis-inspect';

/** The credential of the Redis lock backend (declared by both node classes, shown when Lock Backend is Redis). */
export const REDIS_CREDENTIAL = 'duckDbLockRedisApi';

/** Credential test: connect and ask for the server's version. */
export async function testLockRedis(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const client = await RedisLockClient.connect(redisUrl(credential.data ?? {}), {
			insecureTls: Boolean(credential.data?.ssl && credential.data?.disableTlsVerification),
		});
		client.close();
		return { status: 'OK', message: 'Connected to Redis' };
	} catch (error) {
		return { status: 'Error', message: messageOf(error) };
	}
}

export const lockBackendProperty: INodeProperties = {
	displayName: 'Lock Backend',
	name: 'lockBackend',
	type: 'options',
	noDataExpression: true,
	default: 'file',
	options: [
		{
			name: 'Local File',
			value: 'file',
			description:
				'The PID file next to the database decides. One machine (also several containers sharing the volume).',
		},
		{
			name: 'Redis',
			value: 'redis',
			description: 'A Redis lock decides (the PID file is still written): n8n workers on several machines',
		},
	],
};

/** Entries for a node's Options collection. */
export const leaseOptions: INodeProperties[] = [
	{
		displayName: 'Lease Stale After (Seconds)',
		name: 'staleAfterSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 60,
		description:
			'A lock holder in another container or on another machine (which cannot be checked by PID) counts as gone once its heartbeat is this old. With Redis, the lease of our own lock.',
	},
	{
		displayName: 'Redis Lock Name',
		name: 'redisKey',
		type: 'string',
		default: '',
		placeholder: 'binance-btcusdt',
		description:
			"Name of the lock in Redis, shared by every worker. Empty: the database's absolute path (then it must be mounted at the same path everywhere).",
		displayOptions: { show: { '/lockBackend': ['redis'] } },
	},
];

function redisUrl(data: ICredentialDataDecryptedObject): string {
	const user = String(data.user ?? '');
	const password = String(data.password ?? '');
	const auth = user || password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}@` : '';
	const host = String(data.host ?? 'localhost').trim();
	// A bare IPv6 address needs brackets in a URL; one already in brackets keeps them.
	const urlHost = isIP(host) === 6 ? `[${host}]` : host;
	return `${data.ssl ? 'rediss' : 'redis'}://${auth}${urlHost}:${Number(data.port ?? 6379)}/${Number(data.database ?? 0)}`;
}

export async function lockBackendFor(
	context: IExecuteFunctions,
	itemIndex: number,
): Promise<{ redis?: RedisBackendOptions; staleAfterMs?: number }> {
	const options = context.getNodeParameter('options', itemIndex, {}) as {
		staleAfterSeconds?: number;
		redisKey?: string;
	};
	const staleAfterMs =
		options.staleAfterSeconds === undefined ? undefined : Math.round(Number(options.staleAfterSeconds) * 1000);
	if (staleAfterMs !== undefined && (!Number.isFinite(staleAfterMs) || staleAfterMs < 1000)) {
		throw new NodeOperationError(context.getNode(), 'Lease Stale After (Seconds) must be at least 1', { itemIndex });
	}
	if (context.getNodeParameter('lockBackend', itemIndex, 'file') !== 'redis') return { staleAfterMs };
	const data = await context.getCredentials<ICredentialDataDecryptedObject>(REDIS_CREDENTIAL, itemIndex);
	return {
		staleAfterMs,
		redis: {
			url: redisUrl(data),
			key: options.redisKey?.trim() || undefined,
			insecureTls: Boolean(data.ssl && data.disableTlsVerification),
		},
	};
}
