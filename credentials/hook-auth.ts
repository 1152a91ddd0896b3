/**
 * The DuckDB Hook Auth credential's test: at least one Allowed Host, and a header the hook request can send (the
 * core's rule, the one a run applies), or a user for basic auth.
 */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { parseAllowedHosts } from '../lib/run/hook-hosts';
import { headerProblem } from '../lib/run/hooks';

export async function testHookAuth(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const hosts = parseAllowedHosts(String(data.allowedHosts ?? ''));
	if (!hosts.length)
		return {
			status: 'Error',
			message: 'Allowed Hosts is empty, so the credential is sent nowhere: name the API host, e.g. api.internal:8000',
		};
	const where = `sent only to ${hosts.join(', ')}`;
	if (data.type === 'basic')
		return data.user
			? { status: 'OK', message: `Basic auth is set, ${where}` }
			: { status: 'Error', message: 'Give the user for basic auth' };
	const name = String(data.name ?? '');
	const problem = headerProblem(name, String(data.secret ?? ''));
	if (problem) return { status: 'Error', message: `${problem} (e.g. Authorization or X-API-Key)` };
	return { status: 'OK', message: `The header ${name} is set, ${where}` };
}
