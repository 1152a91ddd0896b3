/**
 * The Before Run and After Run parameters of both nodes: None, an HTTP Request (method, URL, headers, a Before body,
 * authentication through the DuckDB Hook Auth credential) or a Command (an executable and its arguments, no shell).
 */
import type { INodeProperties } from 'n8n-workflow';

export type Phase = 'before' | 'after';

export const TITLE: Record<Phase, string> = { before: 'Before Run', after: 'After Run' };

function hookChoice(
	phase: Phase,
	extraChoices: Array<{ name: string; value: string; description: string }>,
): INodeProperties {
	const what =
		phase === 'before'
			? "once the lock is taken, before waiting for DuckDB's lock (e.g. POST /prepare-for-ingestion: readers let go)"
			: 'after the run, on every path once the Before hook was tried (e.g. POST /refresh-connections), with the outcome record as the body or stdin';
	return {
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
	};
}

function requestProperties(phase: Phase): INodeProperties[] {
	const request = { show: { [`${phase}Run`]: ['request'] } };
	return [
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
	];
}

function commandProperties(phase: Phase): INodeProperties[] {
	const command = { show: { [`${phase}Run`]: ['command'] } };
	return [
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

function hookProperties(
	phase: Phase,
	extraChoices: Array<{ name: string; value: string; description: string }> = [],
): INodeProperties[] {
	return [hookChoice(phase, extraChoices), ...requestProperties(phase), ...commandProperties(phase)];
}

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
