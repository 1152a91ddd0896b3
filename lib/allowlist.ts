/**
 * The admin's allowlist of commands (DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS): absolute executables or folders,
 * separated like PATH. When set, a command is resolved (PATH lookup, symlinks followed) and must be one of the listed
 * executables or lie inside a listed folder; a shell line is allowed only when the shell itself is listed.
 * Unset means unrestricted.
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, sep } from 'node:path';

export const ALLOWLIST_ENV = 'DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS';

/** Variables that make a program load or run other code: with an allowlist, they would let a listed program run anything. */
const CODE_LOADING_VARIABLES = /^(LD_\w+|DYLD_\w+|BASH_ENV|ENV|SHELLOPTS|NODE_OPTIONS|NODE_PATH|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|PATH)$/;

export type AllowlistVerdict = { allowed: true; resolved?: string } | { allowed: false; reason: string };

function realpathOrUndefined(path: string): string | undefined {
	try {
		return realpathSync(path);
	} catch {
		// Does not exist: cannot match anything.
		return undefined;
	}
}

/** Finds the executable a command name means, as the OS would (PATH lookup for bare names). */
export function resolveExecutable(command: string, searchPath = process.env.PATH ?? '', cwd = process.cwd()): string | undefined {
	const candidates = command.includes('/') ? [isAbsolute(command) ? command : join(cwd, command)] : searchPath.split(delimiter).filter(Boolean).map((folder) => join(folder, command));
	for (const candidate of candidates) {
		try {
			if (!statSync(candidate).isFile()) continue;
			accessSync(candidate, constants.X_OK);
			return realpathOrUndefined(candidate);
		} catch {
			// Not there or not executable: try the next PATH entry.
		}
	}
	return undefined;
}

export function parseAllowlist(value: string | undefined): string[] | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	return value.split(delimiter).map((entry) => entry.trim()).filter(Boolean);
}

export function checkAllowed(command: string, options: { allowlist: string[] | undefined; path?: string; cwd?: string; shell?: string; envNames?: string[] }): AllowlistVerdict {
	if (!options.allowlist) return { allowed: true };
	const hook = options.envNames?.find((name) => CODE_LOADING_VARIABLES.test(name));
	if (hook) return { allowed: false, reason: `The environment variable ${hook} can make an allowlisted program run other code, so it is refused while ${ALLOWLIST_ENV} is set. Ask your n8n instance admin.` };
	const program = options.shell ?? command;
	const resolved = resolveExecutable(program, options.path, options.cwd);
	const askAdmin = `Ask your n8n instance admin to add it to ${ALLOWLIST_ENV}, or use a command that is listed there.`;
	if (!resolved) return { allowed: false, reason: `${options.shell ? 'The shell' : 'The command'} "${program}" cannot be resolved to an executable, and only allowlisted commands may run. ${askAdmin}` };
	for (const entry of options.allowlist) {
		if (!isAbsolute(entry)) continue;
		const real = realpathOrUndefined(entry);
		if (!real) continue;
		const isFolder = statSync(real).isDirectory();
		if ((isFolder && resolved.startsWith(real.endsWith(sep) ? real : real + sep)) || (!isFolder && resolved === real)) return { allowed: true, resolved };
	}
	const what = options.shell ? `Use Shell needs the shell ${resolved}, which is not allowlisted` : `The command ${resolved} is not allowlisted`;
	return { allowed: false, reason: `${what}. ${askAdmin}` };
}
