/**
 * The admin's allowlist of commands (DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS): absolute executables or folders,
 * separated like PATH. Unset means unrestricted. When set:
 * - a command is looked up as the OS will (PATH lookup for bare names) and the path actually invoked must be a listed
 *   executable or lie inside a listed folder. The path is compared with the symlinks of its folder part resolved but
 *   its last component kept: a multi-call binary (BusyBox) acts on the name it is called by, so a listed `ls` link to
 *   BusyBox never allows `sh`, another link to the same binary. A shell line is allowed only when the shell itself is
 *   listed.
 * - the environment the node gives the job may only hold harmless names and those the admin allows
 *   (DUCKDB_SAFE_INGEST_ALLOWED_ENV), never a code-loading one; the environment it inherits from the n8n process is
 *   cut down to a safe base plus the admin's names.
 * Whatever the allowlist says, the extra variables' names must be portable names (letters, digits, underscores).
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute } from 'node:path';
import { lookupCommand } from './which';

export const ALLOWLIST_ENV = 'DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS';
/** The environment variable names the admin allows for allowlisted jobs: names or `PREFIX_*`, separated by `:` or `,`. */
export const ALLOWED_ENV_ENV = 'DUCKDB_SAFE_INGEST_ALLOWED_ENV';

export type AllowlistVerdict = { allowed: true; resolved?: string } | { allowed: false; reason: string };

const ASK_ADMIN = 'Ask your n8n instance admin';

function realpathOrUndefined(path: string): string | undefined {
	try {
		// The C library's realpath, as the kernel walks a path (`a/link/../b` follows the link before the `..`).
		return realpathSync.native(path);
	} catch {
		// Does not exist: cannot match anything.
		return undefined;
	}
}

/**
 * The path as the kernel opens it, with the name the program is called by: the folder part with every symlink
 * resolved, the last component kept as it is (a link stays a link). Undefined when the folder does not exist.
 */
export function invokedPath(path: string): string | undefined {
	const slash = path.lastIndexOf('/');
	const name = path.slice(slash + 1);
	if (slash < 0 || !name || name === '.' || name === '..') return undefined;
	const folder = realpathOrUndefined(path.slice(0, slash) || '/');
	return folder === undefined ? undefined : `${folder === '/' ? '' : folder}/${name}`;
}

/** The path the OS will execute for a command (see which.ts), as found, not resolved; undefined when none. */
export function findExecutable(command: string, searchPath?: string, cwd?: string): string | undefined {
	const found = lookupCommand(command, searchPath, cwd);
	return found.kind === 'found' ? found.path : undefined;
}

export function parseAllowlist(value: string | undefined): string[] | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	return value
		.split(delimiter)
		.map((entry) => entry.trim())
		.filter(Boolean);
}

/** Whether one listed entry allows the invoked path: a folder holds it (at any depth), a file entry is that very path. */
function entryAllows(entry: string, invoked: string): boolean {
	if (!isAbsolute(entry)) return false;
	const real = realpathOrUndefined(entry);
	if (!real) return false;
	if (statSync(real).isDirectory()) return invoked.startsWith(real === '/' ? '/' : `${real}/`);
	return invokedPath(entry) === invoked;
}

/** "… is a link to …; list … itself": said whenever the refused path is a symlink. */
function linkNote(found: string): string {
	try {
		if (!lstatSync(found).isSymbolicLink()) return '';
	} catch {
		return '';
	}
	const target = realpathOrUndefined(found) ?? 'a missing file';
	return ` ${found} is a link to ${target}; list ${found} itself: the allowlist matches the path invoked, not the link's target, because a program such as BusyBox acts on the name it is called by.`;
}

export function checkAllowed(
	command: string,
	options: { allowlist: string[] | undefined; path?: string; cwd?: string; shell?: string },
): AllowlistVerdict {
	if (!options.allowlist) return { allowed: true };
	const program = options.shell ?? command;
	const found = findExecutable(program, options.path, options.cwd);
	const invoked = found === undefined ? undefined : invokedPath(found);
	const askAdmin = `${ASK_ADMIN} to add it to ${ALLOWLIST_ENV}, or use a command that is listed there.`;
	if (!found || !invoked)
		return {
			allowed: false,
			reason: `${options.shell ? 'The shell' : 'The command'} "${program}" cannot be resolved to an executable, and only allowlisted commands may run. ${askAdmin}`,
		};
	if (options.allowlist.some((entry) => entryAllows(entry, invoked))) return { allowed: true, resolved: invoked };
	const what = options.shell
		? `Use Shell needs the shell ${found}, which is not allowlisted`
		: `The command ${found} is not allowlisted`;
	return { allowed: false, reason: `${what}. ${askAdmin}${linkNote(found)}` };
}

// --- The job's environment while the allowlist is set.

/** The portable name rule (POSIX): anything else (`BASH_FUNC_x%%`, `A=B`, `1X`) is refused, allowlist or not. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variables that make a program load or run other code, or change what a name runs: refused as extra variables while
 * the allowlist is set even when the admin's patterns match them. Not the defence (that is deny by default), a floor
 * under broad patterns such as `PYTHON*`.
 */
const CODE_LOADING_VARIABLES =
	/^(PATH|LD_\w+|DYLD_\w+|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|BASH_FUNC_\w+|NODE_OPTIONS|NODE_PATH|PYTHON(STARTUP|PATH|HOME|USERBASE|INSPECT|BREAKPOINT)|PERL5OPT|PERL5LIB|PERLLIB|PERL5DB|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH|OPENSSL_(CONF|MODULES|ENGINES)|GCONV_PATH|GIT_CONFIG\w*|GIT_EXEC_PATH|GIT_SSH\w*|GIT_ASKPASS|SSH_ASKPASS|EDITOR|VISUAL|PAGER|LESSOPEN|LESSCLOSE)$/;

/** Extra variables allowed without the admin: they select a language, a time zone or plain output. */
const HARMLESS_EXTRA = /^(TZ|LANG|LANGUAGE|LC_[A-Z_]+|NO_COLOR)$/;

/** What an allowlisted job inherits from the n8n process without the admin naming it. */
const SAFE_INHERITED = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_[A-Z_]+|TZ|TMPDIR|TERM)$/;

export interface EnvAllowlist {
	names: string[];
	prefixes: string[];
	/** Entries that are neither a name nor `PREFIX*` (e.g. a lone `*`): they allow nothing, and make runs refused. */
	invalid: string[];
}

export function parseEnvAllowlist(value: string | undefined): EnvAllowlist {
	const parsed: EnvAllowlist = { names: [], prefixes: [], invalid: [] };
	for (const entry of (value ?? '')
		.split(/[:,]/)
		.map((part) => part.trim())
		.filter(Boolean)) {
		if (ENV_NAME.test(entry)) parsed.names.push(entry);
		else if (entry.endsWith('*') && ENV_NAME.test(entry.slice(0, -1))) parsed.prefixes.push(entry.slice(0, -1));
		else parsed.invalid.push(entry);
	}
	return parsed;
}

function adminAllows(name: string, allowed: EnvAllowlist): boolean {
	return allowed.names.includes(name) || allowed.prefixes.some((prefix) => name.startsWith(prefix));
}

/**
 * The extra environment the node gives a job (Environment Variables and Job Secrets names, `from` says which): every
 * name must be portable; while the allowlist is set, it must also be harmless or allowed by the admin, and never a
 * code-loading one.
 */
export function checkEnvNames(
	names: string[],
	options: { allowlist: string[] | undefined; allowedEnv: string | undefined; from: string },
): AllowlistVerdict {
	const invalid = names.find((name) => !ENV_NAME.test(name));
	if (invalid !== undefined)
		return {
			allowed: false,
			reason: `"${invalid}" (in ${options.from}) is not a valid environment variable name: letters, digits and underscores, not starting with a digit.`,
		};
	if (!options.allowlist) return { allowed: true };
	const allowed = parseEnvAllowlist(options.allowedEnv);
	if (allowed.invalid.length)
		return {
			allowed: false,
			reason: `${ALLOWED_ENV_ENV} has entries that are neither a variable name nor a PREFIX_* pattern (${allowed.invalid.join(', ')}), so no job may run. ${ASK_ADMIN} to correct it.`,
		};
	for (const name of names) {
		if (CODE_LOADING_VARIABLES.test(name))
			return {
				allowed: false,
				reason: `The environment variable ${name} can make an allowlisted program run other code, so it is refused while ${ALLOWLIST_ENV} is set (also when ${ALLOWED_ENV_ENV} matches it). ${ASK_ADMIN}: a value the admin sets in n8n's own environment reaches the job when ${ALLOWED_ENV_ENV} names it.`,
			};
		if (!HARMLESS_EXTRA.test(name) && !adminAllows(name, allowed))
			return {
				allowed: false,
				reason: `The environment variable ${name} (in ${options.from}) is not allowed for jobs while ${ALLOWLIST_ENV} is set. ${ASK_ADMIN} to add it to ${ALLOWED_ENV_ENV} (names or PREFIX_* patterns, separated by ":" or ",").`,
			};
	}
	return { allowed: true };
}

/** Whether an allowlisted job inherits a variable of the n8n process: the safe base, or a name the admin allows. */
export function inheritedEnvFilter(allowedEnv: string | undefined): (name: string) => boolean {
	const allowed = parseEnvAllowlist(allowedEnv);
	return (name) => SAFE_INHERITED.test(name) || adminAllows(name, allowed);
}
