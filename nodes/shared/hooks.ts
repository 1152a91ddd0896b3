/**
 * The Before Run and After Run hooks as the nodes offer them: None, an HTTP Request (method, URL, headers, body,
 * authentication through an n8n credential: Header Auth or Basic Auth) or a Command (an executable and its
 * arguments, never a shell). Read into the core's hook specs; credentials are named, never recorded.
 */
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IExecuteFunctions,
	type INodeProperties,
} from 'n8n-workflow';
import {
	ALLOWED_ENV_ENV,
	ALLOWLIST_ENV,
	checkAllowed,
	inheritedEnvFilter,
	parseAllowlist,
} from '../../lib/proc/allowlist';
import type { HookSpec, RunHookSpecs } from '../../lib/run/hooks';

type Phase = 'before' | 'after';

const TITLE: Record<Phase, string> = { before: 'Before Run', after: 'After Run' };

/** The credential a hook request authenticates with: a header or basic auth. */
export const HOOK_CREDENTIAL = 'duckDbHookAuthApi';

function hookProperties(
	phase: Phase,
	extraChoices: Array<{ name: string; value: string; description: string }> = [],
): INodeProperties[] {
	const request = { show: { [`${phase}Run`]: ['request'] } };
	const command = { show: { [`${phase}Run`]: ['command'] } };
	const what =
		phase === 'before'
			? "once the lock is taken, before waiting for DuckDB's lock (e.g. POST /prepare-for-ingestion: readers let go)"
			: 'after the run, on every path once the Before hook was tried (e.g. POST /refresh-connections), with the outcome record as the body or stdin';
	return [
		{
			displayName: TITLE[phase],
			name: `${phase}Run`,
			type: 'options',
			noDataExpression: true,
			default: 'none',
			description: `A hook ${what}`,
			options: [
				{ name: 'None', value: 'none' },
				{ name: 'HTTP Request', value: 'request', description: 'Call the program that shares the database' },
				{ name: 'Command', value: 'command', description: 'Run an executable (no shell)' },
				...extraChoices,
			],
		},
		{
			displayName: `${TITLE[phase]}: Method`,
			name: `${phase}Method`,
			type: 'options',
			default: 'POST',
			options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((method) => ({ name: method, value: method })),
			displayOptions: request,
		},
		{
			displayName: `${TITLE[phase]}: URL`,
			name: `${phase}Url`,
			type: 'string',
			default: '',
			required: true,
			placeholder: phase === 'before' ? 'http://api:8000/prepare-for-ingestion' : 'http://api:8000/refresh-connections',
			displayOptions: request,
		},
		{
			displayName: `${TITLE[phase]}: Headers`,
			name: `${phase}Headers`,
			type: 'fixedCollection',
			typeOptions: { multipleValues: true },
			default: {},
			placeholder: 'Add Header',
			displayOptions: request,
			options: [
				{
					displayName: 'Header',
					name: 'header',
					values: [
						{ displayName: 'Name', name: 'name', type: 'string', default: '' },
						{ displayName: 'Value', name: 'value', type: 'string', default: '' },
					],
				},
			],
		},
		...(phase === 'before'
			? [
					{
						displayName: 'Before Run: Body',
						name: 'beforeBody',
						type: 'string',
						default: '',
						description: 'Sent as JSON (empty: no body)',
						displayOptions: request,
					} as INodeProperties,
				]
			: []),
		{
			displayName: `${TITLE[phase]}: Command`,
			name: `${phase}Command`,
			type: 'string',
			default: '',
			required: true,
			placeholder: '/opt/api/bin/let-go',
			description: 'An executable (no shell line)',
			displayOptions: command,
		},
		{
			displayName: `${TITLE[phase]}: Arguments`,
			name: `${phase}Arguments`,
			type: 'fixedCollection',
			typeOptions: { multipleValues: true, sortable: true },
			default: {},
			placeholder: 'Add Argument',
			displayOptions: command,
			options: [
				{
					displayName: 'Argument',
					name: 'argument',
					values: [{ displayName: 'Value', name: 'value', type: 'string', default: '' }],
				},
			],
		},
	];
}

/** How hook requests authenticate: an n8n credential, the same for both hooks. */
export const hookAuthenticationProperty: INodeProperties = {
	displayName: 'Hook Authentication',
	name: 'hookAuthentication',
	type: 'options',
	default: 'none',
	options: [
		{ name: 'None', value: 'none' },
		{
			name: 'DuckDB Hook Auth Credential',
			value: 'credential',
			description: 'A header (API key, bearer token) or basic auth',
		},
	],
	description: 'How the hook requests authenticate (an n8n credential)',
};

/** The DuckDB Safe Ingest node's hooks. */
export const handshakeProperties: INodeProperties[] = [
	...hookProperties('before'),
	...hookProperties('after'),
	hookAuthenticationProperty,
];

/** The Lock Cleanup node's After hook: for a stale lock whose run died owing its After (or it was done by hand). */
export const cleanupAfterProperties: INodeProperties[] = [
	...hookProperties('after', [
		{ name: 'Done by Hand', value: 'done', description: 'The owed After hook was done by hand: remove the lock' },
	]),
	{ ...hookAuthenticationProperty, displayOptions: { show: { afterRun: ['request'] } } },
];

async function authHeaders(
	context: IExecuteFunctions,
	itemIndex: number,
): Promise<{ headers: Record<string, string>; credential?: string }> {
	if (context.getNodeParameter('hookAuthentication', itemIndex, 'none') !== 'credential') return { headers: {} };
	const data = await context.getCredentials<ICredentialDataDecryptedObject>(HOOK_CREDENTIAL, itemIndex);
	const credential = `${HOOK_CREDENTIAL} "${context.getNode().credentials?.[HOOK_CREDENTIAL]?.name ?? '?'}"`;
	if (data.type === 'basic')
		return {
			headers: {
				authorization: `Basic ${Buffer.from(`${String(data.user ?? '')}:${String(data.password ?? '')}`).toString('base64')}`,
			},
			credential,
		};
	return { headers: { [String(data.name ?? 'Authorization')]: String(data.secret ?? '') }, credential };
}

async function hookFor(context: IExecuteFunctions, itemIndex: number, phase: Phase): Promise<HookSpec | undefined> {
	const kind = context.getNodeParameter(`${phase}Run`, itemIndex, 'none') as string;
	if (kind === 'request') {
		const url = String(context.getNodeParameter(`${phase}Url`, itemIndex, '')).trim();
		if (!url) throw new NodeOperationError(context.getNode(), `${TITLE[phase]}: URL is empty`, { itemIndex });
		const given = (
			context.getNodeParameter(`${phase}Headers.header`, itemIndex, []) as Array<{ name?: string; value?: unknown }>
		).filter((header) => header.name);
		const auth = await authHeaders(context, itemIndex);
		const headers = {
			...Object.fromEntries(given.map((header) => [String(header.name), String(header.value ?? '')])),
			...auth.headers,
		};
		const body =
			phase === 'before' ? String(context.getNodeParameter('beforeBody', itemIndex, '')) || undefined : undefined;
		return {
			kind: 'request',
			method: context.getNodeParameter(`${phase}Method`, itemIndex, 'POST') as string,
			url,
			headers,
			body,
			credential: auth.credential,
		};
	}
	if (kind === 'command') {
		const file = String(context.getNodeParameter(`${phase}Command`, itemIndex, '')).trim();
		if (!file) throw new NodeOperationError(context.getNode(), `${TITLE[phase]}: Command is empty`, { itemIndex });
		const args = (
			context.getNodeParameter(`${phase}Arguments.argument`, itemIndex, []) as Array<{ value?: unknown }>
		).map((entry) => String(entry.value ?? ''));
		// A hook command is a program a workflow editor names: the admin's allowlist holds it like the job.
		const allowlist = parseAllowlist(process.env[ALLOWLIST_ENV]);
		const verdict = checkAllowed(file, { allowlist, path: process.env.PATH });
		if (!verdict.allowed)
			throw new NodeOperationError(context.getNode(), `${TITLE[phase]} hook: ${verdict.reason}`, {
				itemIndex,
			});
		const inheritEnv = allowlist ? inheritedEnvFilter(process.env[ALLOWED_ENV_ENV]) : undefined;
		return { kind: 'command', file, args, inheritEnv };
	}
	return undefined;
}

/** The item's Before and After hooks (undefined: none), with the Options' hook timeout. */
export async function handshakeFor(
	context: IExecuteFunctions,
	itemIndex: number,
	timeoutSeconds?: number,
): Promise<RunHookSpecs | undefined> {
	const before = await hookFor(context, itemIndex, 'before');
	const after = await hookFor(context, itemIndex, 'after');
	if (!before && !after) return undefined;
	return { before, after, timeoutMs: timeoutSeconds === undefined ? undefined : Math.round(timeoutSeconds * 1000) };
}

/** The Lock Cleanup node's After: a hook to do for an owed After, or "done by hand". */
export async function cleanupAfterFor(
	context: IExecuteFunctions,
	itemIndex: number,
): Promise<{ after?: HookSpec; afterDone?: boolean }> {
	if (context.getNodeParameter('afterRun', itemIndex, 'none') === 'done') return { afterDone: true };
	return { after: await hookFor(context, itemIndex, 'after') };
}
