/**
 * The Before Run and After Run hooks of an item, read into the core's hook specs (the parameters are in
 * hook-properties.ts): the credential's headers only for the hosts it allows, a command only when the admin's
 * allowlist lets it run; credentials are named, never recorded.
 */
import { NodeOperationError, type ICredentialDataDecryptedObject, type IExecuteFunctions } from 'n8n-workflow';
import {
	ALLOWED_ENV_ENV,
	ALLOWLIST_ENV,
	checkAllowed,
	inheritedEnvFilter,
	parseAllowlist,
} from '../../lib/proc/allowlist';
import type { HookSpec, RunHookSpecs } from '../../lib/run/hooks';
import { credentialHostProblem, parseAllowedHosts } from '../../lib/run/hook-hosts';

import { TITLE, type Phase } from './hook-properties';

/** The credential a hook request authenticates with: a header or basic auth. */
export const HOOK_CREDENTIAL = 'duckDbHookAuthApi';

async function authHeaders(
	context: IExecuteFunctions,
	itemIndex: number,
	url: string,
	phase: Phase,
): Promise<{ headers: Record<string, string>; credential?: string }> {
	if (context.getNodeParameter('hookAuthentication', itemIndex, 'none') !== 'credential') return { headers: {} };
	const data = await context.getCredentials<ICredentialDataDecryptedObject>(HOOK_CREDENTIAL, itemIndex);
	const credential = `${HOOK_CREDENTIAL} "${context.getNode().credentials?.[HOOK_CREDENTIAL]?.name ?? '?'}"`;
	const refused = credentialHostProblem(url, parseAllowedHosts(String(data.allowedHosts ?? '')));
	if (refused)
		throw new NodeOperationError(context.getNode(), `${TITLE[phase]}: ${refused}`, {
			itemIndex,
			description: `The ${credential} credential was not sent; nothing was started.`,
		});
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
		const auth = await authHeaders(context, itemIndex, url, phase);
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
