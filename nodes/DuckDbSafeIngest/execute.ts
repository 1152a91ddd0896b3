/**
 * DuckDB Safe Ingest: each input item is one run under the lock (a command, Ingest Files or Run SQL); its outcome
 * goes to exactly one output.
 */
import { NodeOperationError, type ICredentialDataDecryptedObject, type ICredentialTestFunctions, type ICredentialsDecrypted, type IDataObject, type IExecuteFunctions, type INodeCredentialTestResult, type INodeExecutionData } from 'n8n-workflow';
import { ALLOWED_ENV_ENV, ALLOWLIST_ENV, checkAllowed, checkEnvNames, ENV_NAME, inheritedEnvFilter, parseAllowlist } from '../../lib/proc/allowlist';
import { maskSecrets } from '../../lib/base/mask';
import type { Outcome } from '../../lib/outcome/outcome';
import { OUTPUT_NAMES, outputIndexFor } from '../../lib/outcome/status';
import { runUnderLock } from '../../lib/run/supervise';
import { runIngestFiles, runSqlScript } from '../../lib/operations/supervise-worker';
import { asNodeError, databaseFor, item } from '../shared/glue';
import { ingestSpecFor, sqlSpecFor, supervisionFor } from './operations';
import { RUN_DEFAULTS, type RunOptions } from '../../lib/run/options';

export const SECRETS_CREDENTIAL = 'duckDbJobSecretsApi';
const SECRET_PAIRS = 4;

function secretsFrom(data: ICredentialDataDecryptedObject | undefined): Record<string, string> {
	const env: Record<string, string> = {};
	for (let index = 1; index <= SECRET_PAIRS; index++) {
		const name = String(data?.[`name${index}`] ?? '').trim();
		if (name) env[name] = String(data?.[`value${index}`] ?? '');
	}
	return env;
}

/** Credential test: the names must be usable as environment variable names. */
export async function testJobSecrets(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	for (const name of Object.keys(secretsFrom(credential.data))) {
		if (!ENV_NAME.test(name)) return { status: 'Error', message: `"${name}" is not a valid environment variable name (letters, digits, underscores; not starting with a digit)` };
	}
	return { status: 'OK', message: 'The variable names are valid' };
}

/**
 * The job's extra environment: the Environment Variables parameter, then the Job Secrets. Their names are checked at
 * run time whatever the credential test said (portable names always; with the allowlist, only allowed ones).
 */
function jobEnvironment(context: IExecuteFunctions, itemIndex: number, secrets: Record<string, string>, policy: { allowlist: string[] | undefined; allowedEnv: string | undefined }): Record<string, string> {
	const env: Record<string, string> = {};
	for (const variable of context.getNodeParameter('environment.variable', itemIndex, []) as Array<{ name?: string; value?: unknown }>) {
		const name = String(variable.name ?? '').trim();
		if (name) env[name] = String(variable.value ?? '');
	}
	for (const [from, names] of [['Environment Variables', Object.keys(env)], ['the DuckDB Job Secrets credential', Object.keys(secrets)]] as const) {
		const verdict = checkEnvNames(names, { ...policy, from });
		if (!verdict.allowed) throw new NodeOperationError(context.getNode(), verdict.reason, { itemIndex });
	}
	return Object.assign(env, secrets);
}

async function runOptionsFor(context: IExecuteFunctions, itemIndex: number, databasePath: string, secrets: Record<string, string>): Promise<RunOptions> {
	const command = String(context.getNodeParameter('command', itemIndex)).trim();
	if (!command) throw new NodeOperationError(context.getNode(), 'Command is empty', { itemIndex, description: 'Give the program to run, e.g. python3.' });
	const useShell = context.getNodeParameter('useShell', itemIndex, false) as boolean;
	const args = (context.getNodeParameter('arguments.argument', itemIndex, []) as Array<{ value?: unknown }>).map((entry) => String(entry.value ?? ''));
	const cwd = String(context.getNodeParameter('workingDirectory', itemIndex, '')).trim() || undefined;
	const allowlist = parseAllowlist(process.env[ALLOWLIST_ENV]);
	const allowedEnv = process.env[ALLOWED_ENV_ENV];
	const env = jobEnvironment(context, itemIndex, secrets, { allowlist, allowedEnv });
	const verdict = checkAllowed(command, { allowlist, path: env.PATH ?? process.env.PATH, cwd, shell: useShell ? RUN_DEFAULTS.shell : undefined });
	if (!verdict.allowed) throw new NodeOperationError(context.getNode(), verdict.reason, { itemIndex });

	return {
		...(await supervisionFor(context, itemIndex)),
		databasePath,
		// With Use Shell, Command is the shell line and the Arguments are its $1, $2, ...: never spliced into the line.
		command: [command, ...args],
		shell: useShell,
		cwd,
		env,
		// With the allowlist, n8n's own variables (its encryption key, database password, ...) stay out of the job.
		inheritEnv: allowlist ? inheritedEnvFilter(allowedEnv) : undefined,
	};
}

/** One item: the operation it asks for, under the lock. */
async function runItem(context: IExecuteFunctions, itemIndex: number, secrets: Record<string, string>): Promise<Outcome> {
	const operation = context.getNodeParameter('operation', itemIndex, 'runCommand') as string;
	const databasePath = await databaseFor(context, itemIndex);
	if (operation === 'ingestFiles') return runIngestFiles(await ingestSpecFor(context, itemIndex, databasePath), await supervisionFor(context, itemIndex));
	if (operation === 'runSql') return runSqlScript(await sqlSpecFor(context, itemIndex, databasePath), await supervisionFor(context, itemIndex));
	return runUnderLock(await runOptionsFor(context, itemIndex, databasePath, secrets));
}

export async function executeSafeIngest(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputs: INodeExecutionData[][] = OUTPUT_NAMES.map(() => []);
	const failedOutput = outputIndexFor('failed')!;
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		let secrets: Record<string, string> = {};
		let outcome: Outcome;
		try {
			if (this.getNode().credentials?.[SECRETS_CREDENTIAL]) secrets = secretsFrom(await this.getCredentials<ICredentialDataDecryptedObject>(SECRETS_CREDENTIAL, itemIndex));
			outcome = await runItem(this, itemIndex, secrets);
		} catch (error) {
			const nodeError = asNodeError(this, error, itemIndex);
			// Everything n8n keeps of the error: its message, description and stack (which repeats the message).
			const values = Object.values(secrets);
			nodeError.message = maskSecrets(nodeError.message, values);
			if (nodeError.description) nodeError.description = maskSecrets(nodeError.description, values);
			if (nodeError.stack) nodeError.stack = maskSecrets(nodeError.stack, values);
			if (!this.continueOnFail()) throw nodeError;
			// Only an `error` key: with "Continue (using error output)" n8n moves it to the Error output.
			outputs[failedOutput].push(item({ error: nodeError.message }, itemIndex));
			continue;
		}
		if (outcome.status === 'canceled') {
			// Never an item, whatever "Continue on fail" says: the execution is being stopped. The job group is
			// already stopped and the lock released.
			throw new NodeOperationError(this.getNode(), maskSecrets(`Execution canceled: ${outcome.summary}`, Object.values(secrets)), { itemIndex });
		}
		const rows = outcome.status === 'success' && outcome.sql?.rows?.length ? outcome.sql.rows : undefined;
		if (rows) {
			// Run SQL with Return Rows: the query's rows are the items, like n8n's database nodes.
			for (const row of rows) outputs[outputIndexFor('success')!].push(item(row as IDataObject, itemIndex));
			continue;
		}
		const json = maskSecrets(outcome, Object.values(secrets)) as unknown as IDataObject;
		outputs[outputIndexFor(outcome.status)!].push(item(json, itemIndex));
	}
	return outputs;
}
