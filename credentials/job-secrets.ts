/**
 * The DuckDB Job Secrets credential's values and its test: up to four name/value pairs that a job gets as
 * environment variables (their values masked in everything the node outputs).
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';
import { ENV_NAME } from '../lib/proc/allowlist';

export const SECRETS_CREDENTIAL = 'duckDbJobSecretsApi';
export const SECRET_PAIRS = 4;

/** The credential's pairs as environment variables (empty names skipped). */
export function secretsFrom(data: ICredentialDataDecryptedObject | undefined): Record<string, string> {
	const env: Record<string, string> = {};
	for (let index = 1; index <= SECRET_PAIRS; index++) {
		const name = String(data?.[`name${index}`] ?? '').trim();
		if (name) env[name] = String(data?.[`value${index}`] ?? '');
	}
	return env;
}

/** Credential test: the names must be usable as environment variable names (run time checks them again). */
export async function testJobSecrets(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	for (const name of Object.keys(secretsFrom(credential.data))) {
		if (!ENV_NAME.test(name))
			return {
				status: 'Error',
				message: `"${name}" is not a valid environment variable name (letters, digits, underscores; not starting with a digit)`,
			};
	}
	return { status: 'OK', message: 'The variable names are valid' };
}
