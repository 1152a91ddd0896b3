/** The DuckDB Hook Auth credential's test: a usable header name, or a user for basic auth. */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export async function testHookAuth(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	if (data.type === 'basic')
		return data.user
			? { status: 'OK', message: 'Basic auth is set' }
			: { status: 'Error', message: 'Give the user for basic auth' };
	const name = String(data.name ?? '');
	if (!HEADER_NAME.test(name))
		return {
			status: 'Error',
			message: `"${name}" is not a header name (letters, digits and - only, e.g. Authorization or X-API-Key)`,
		};
	return { status: 'OK', message: `The header ${name} is set` };
}
