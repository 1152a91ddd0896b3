/** DuckDB Safe Ingest, Run Command: the user's program as the job, under the lock and the admin's allowlist. */
import {
	NodeOperationError,
	type IExecuteFunctions,
	type INodeProperties,
	type INodePropertyOptions,
} from 'n8n-workflow';
import {
	ALLOWED_ENV_ENV,
	ALLOWLIST_ENV,
	checkAllowed,
	checkEnvNames,
	inheritedEnvFilter,
	parseAllowlist,
} from '../../../lib/proc/allowlist';
import type { CommandRequest, OperationRequest } from '../../../lib/operations/dispatch';
import { RUN_DEFAULTS } from '../../../lib/run/options';

const runCommand = { show: { operation: ['runCommand'] } };

export const option: INodePropertyOptions = {
	name: 'Run Command',
	value: 'runCommand',
	description: 'Run your ingestion program (a Python script, a CLI) under the database lock',
	action: 'Run a command under the database lock',
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Command',
		name: 'command',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'python3',
		description: 'The program to run: a name found on PATH, or an absolute path. Arguments go below, one per entry.',
		displayOptions: runCommand,
	},
	{
		displayName: 'Arguments',
		name: 'arguments',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		placeholder: 'Add Argument',
		description:
			'Passed to the program as separate arguments, exactly as written (never through a shell), so values from expressions cannot inject commands',
		displayOptions: runCommand,
		options: [
			{
				displayName: 'Argument',
				name: 'argument',
				values: [{ displayName: 'Value', name: 'value', type: 'string', default: '', placeholder: '--symbol' }],
			},
		],
	},
	{
		displayName: 'Use Shell',
		name: 'useShell',
		type: 'boolean',
		default: false,
		description:
			'Whether to run Command as a /bin/sh line instead of a program. The Arguments are then passed to the line as $1, $2, ... (never spliced into it).',
		displayOptions: runCommand,
	},
	{
		displayName:
			'With a shell, Command is interpreted by /bin/sh: an expression inside Command whose value contains ; or $( ) can run other commands. Keep values in Arguments and refer to them as "$1", "$2" in the line, or prefer a program without a shell.',
		name: 'shellWarning',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['runCommand'], useShell: [true] } },
	},
	{
		displayName: 'Working Directory',
		name: 'workingDirectory',
		type: 'string',
		default: '',
		placeholder: '/opt/ingest',
		description: 'Folder the command runs in. Empty: the folder n8n runs in.',
		displayOptions: runCommand,
	},
	{
		displayName: 'Environment Variables',
		name: 'environment',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: {},
		placeholder: 'Add Variable',
		description:
			'Extra environment variables for the command. Put secrets in the DuckDB Job Secrets credential instead.',
		displayOptions: runCommand,
		options: [
			{
				displayName: 'Variable',
				name: 'variable',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'DATA_DIR' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
];

/**
 * The job's extra environment: the Environment Variables parameter, then the Job Secrets. Their names are checked at
 * run time whatever the credential test said (portable names always; with the allowlist, only allowed ones).
 */
function jobEnvironment(
	context: IExecuteFunctions,
	itemIndex: number,
	secrets: Record<string, string>,
	policy: { allowlist: string[] | undefined; allowedEnv: string | undefined },
): Record<string, string> {
	const env: Record<string, string> = {};
	for (const variable of context.getNodeParameter('environment.variable', itemIndex, []) as Array<{
		name?: string;
		value?: unknown;
	}>) {
		const name = String(variable.name ?? '').trim();
		if (name) env[name] = String(variable.value ?? '');
	}
	for (const [from, names] of [
		['Environment Variables', Object.keys(env)],
		['the DuckDB Job Secrets credential', Object.keys(secrets)],
	] as const) {
		const verdict = checkEnvNames(names, { ...policy, from });
		if (!verdict.allowed) throw new NodeOperationError(context.getNode(), verdict.reason, { itemIndex });
	}
	return Object.assign(env, secrets);
}

/** The item's command, checked against the admin's allowlist, as a request. */
export async function request(
	context: IExecuteFunctions,
	itemIndex: number,
	databasePath: string,
	secrets: Record<string, string>,
): Promise<OperationRequest> {
	const program = String(context.getNodeParameter('command', itemIndex)).trim();
	if (!program)
		throw new NodeOperationError(context.getNode(), 'Command is empty', {
			itemIndex,
			description: 'Give the program to run, e.g. python3.',
		});
	const useShell = context.getNodeParameter('useShell', itemIndex, false) as boolean;
	const args = (context.getNodeParameter('arguments.argument', itemIndex, []) as Array<{ value?: unknown }>).map(
		(entry) => String(entry.value ?? ''),
	);
	const cwd = String(context.getNodeParameter('workingDirectory', itemIndex, '')).trim() || undefined;
	const allowlist = parseAllowlist(process.env[ALLOWLIST_ENV]);
	const allowedEnv = process.env[ALLOWED_ENV_ENV];
	const env = jobEnvironment(context, itemIndex, secrets, { allowlist, allowedEnv });
	const verdict = checkAllowed(program, {
		allowlist,
		path: env.PATH ?? process.env.PATH,
		cwd,
		shell: useShell ? RUN_DEFAULTS.shell : undefined,
	});
	if (!verdict.allowed) throw new NodeOperationError(context.getNode(), verdict.reason, { itemIndex });

	const run: CommandRequest = {
		databasePath,
		// With Use Shell, Command is the shell line and the Arguments are its $1, $2, ...: never spliced into the line.
		command: [program, ...args],
		shell: useShell,
		cwd,
		env,
		// With the allowlist, n8n's own variables (its encryption key, database password, ...) stay out of the job.
		inheritEnv: allowlist ? inheritedEnvFilter(allowedEnv) : undefined,
	};
	return { operation: 'runCommand', command: run };
}
