/** DuckDB Safe Ingest: each input item is one run under the lock; its outcome goes to exactly one output. */
import { NodeOperationError, type ICredentialDataDecryptedObject, type ICredentialTestFunctions, type ICredentialsDecrypted, type IDataObject, type IExecuteFunctions, type INodeCredentialTestResult, type INodeExecutionData } from 'n8n-workflow';
import { ALLOWLIST_ENV, checkAllowed, parseAllowlist } from '../../lib/allowlist';
import { maskSecrets } from '../../lib/mask';
import { OUTPUT_NAMES, outputIndexFor, type Outcome } from '../../lib/outcome';
import { runUnderLock, type RunOptions } from '../../lib/run/supervise';
import { allowedPath, asNodeError, cancelSignal, item, ownerLabel } from '../shared/glue';

export const SECRETS_CREDENTIAL = 'duckDbJobSecretsApi';
const SECRET_PAIRS = 4;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables that make a program load or run other code (refused when the admin allowlist is set). */
const CODE_LOADING_VARIABLES = /^(LD_\w+|DYLD_\w+|BASH_ENV|ENV|SHELLOPTS|NODE_OPTIONS|NODE_PATH|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|PATH)$/;

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

function positiveNumber(context: IExecuteFunctions, name: string, label: string, itemIndex: number, allowZero: boolean): number {
	const raw = context.getNodeParameter(name, itemIndex) as unknown;
	const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
	if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0) || String(raw).trim() === '') {
		throw new NodeOperationError(context.getNode(), `${label} must be a number${allowZero ? '' : ' greater than 0'} (got "${String(raw)}")`, { itemIndex });
	}
	return value;
}

async function runOptionsFor(context: IExecuteFunctions, itemIndex: number, secrets: Record<string, string>): Promise<RunOptions> {
	const databasePath = String(context.getNodeParameter('databasePath', itemIndex)).trim();
	if (!databasePath) throw new NodeOperationError(context.getNode(), 'Database Path is empty', { itemIndex, description: 'Give the path of the DuckDB file, e.g. /data/liquidations.duckdb.' });
	const resolvedDb = await allowedPath(context, databasePath, 'database', itemIndex);
	await allowedPath(context, `${resolvedDb}.pid`, 'lock file', itemIndex);
	const options = context.getNodeParameter('options', itemIndex, {}) as { logFile?: string; tailKib?: number };
	const logFile = options.logFile?.trim() ? await allowedPath(context, options.logFile.trim(), 'log file', itemIndex) : undefined;

	const command = String(context.getNodeParameter('command', itemIndex)).trim();
	if (!command) throw new NodeOperationError(context.getNode(), 'Command is empty', { itemIndex, description: 'Give the program to run, e.g. python3.' });
	const useShell = context.getNodeParameter('useShell', itemIndex, false) as boolean;
	const args = (context.getNodeParameter('arguments.argument', itemIndex, []) as Array<{ value?: unknown }>).map((entry) => String(entry.value ?? ''));
	const cwd = String(context.getNodeParameter('workingDirectory', itemIndex, '')).trim() || undefined;
	const env: Record<string, string> = {};
	for (const variable of context.getNodeParameter('environment.variable', itemIndex, []) as Array<{ name?: string; value?: unknown }>) {
		const name = String(variable.name ?? '').trim();
		if (!name) continue;
		if (!ENV_NAME.test(name)) throw new NodeOperationError(context.getNode(), `"${name}" is not a valid environment variable name`, { itemIndex });
		env[name] = String(variable.value ?? '');
	}
	Object.assign(env, secrets);

	const allowlist = parseAllowlist(process.env[ALLOWLIST_ENV]);
	const hook = allowlist ? Object.keys(env).find((name) => CODE_LOADING_VARIABLES.test(name)) : undefined;
	if (hook) {
		throw new NodeOperationError(context.getNode(), `The environment variable ${hook} can make an allowlisted program run other code, so it is refused while ${ALLOWLIST_ENV} is set`, { itemIndex, description: 'Ask your n8n instance admin.' });
	}
	const verdict = checkAllowed(command, { allowlist, path: env.PATH ?? process.env.PATH, cwd, shell: useShell ? '/bin/sh' : undefined });
	if (!verdict.allowed) throw new NodeOperationError(context.getNode(), verdict.reason, { itemIndex });

	const timeoutMinutes = positiveNumber(context, 'timeoutMinutes', 'Timeout (Minutes)', itemIndex, false);
	const graceSeconds = positiveNumber(context, 'graceSeconds', 'Grace Period (Seconds)', itemIndex, true);
	const waitSeconds = positiveNumber(context, 'waitSeconds', 'Wait for Lock (Seconds)', itemIndex, true);
	return {
		databasePath: resolvedDb,
		// With Use Shell, Command is the shell line and the Arguments are its $1, $2, ...: never spliced into the line.
		command: [command, ...args],
		shell: useShell,
		cwd,
		env,
		timeoutMs: Math.round(timeoutMinutes * 60_000),
		graceMs: Math.round(graceSeconds * 1000),
		waitMs: Math.round(waitSeconds * 1000),
		owner: ownerLabel(context),
		logFile,
		tailBytes: options.tailKib === undefined ? undefined : Math.round(options.tailKib * 1024),
		signal: cancelSignal(context),
	};
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
			outcome = await runUnderLock(await runOptionsFor(this, itemIndex, secrets));
		} catch (error) {
			const nodeError = asNodeError(this, error, itemIndex);
			nodeError.message = maskSecrets(nodeError.message, Object.values(secrets));
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
		const json = maskSecrets(outcome, Object.values(secrets)) as unknown as IDataObject;
		outputs[outputIndexFor(outcome.status)!].push(item(json, itemIndex));
	}
	return outputs;
}
