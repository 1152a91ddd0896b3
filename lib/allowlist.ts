/**
 * The admin's allowlist of commands (DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS): absolute executables or folders,
 * separated like PATH. Unset means unrestricted. When set:
 * - a command is looked up as the OS will (PATH lookup for bare names) and the path actually invoked must be a listed
 *   executable or lie inside a listed folder. The path is compared with the symlinks of its folder part resolved but
 *   its last component kept: a multi-call binary (BusyBox) acts on the name it is called by, so a listed `ls` link to
 *   BusyBox never allows `sh`, another link to the same binary. A shell line is allowed only when the shell itself is
 *   listed.
 * - environment variables that make a program load other code are refused.
 */
import { accessSync, constants, lstatSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';

export const ALLOWLIST_ENV = 'DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS';

/** Variables that make a program load or run other code: with an allowlist, they would let a listed program run anything. */
const CODE_LOADING_VARIABLES = /^(LD_\w+|DYLD_\w+|BASH_ENV|ENV|SHELLOPTS|NODE_OPTIONS|NODE_PATH|PYTHONSTARTUP|PYTHONPATH|PYTHONHOME|PERL5OPT|PERL5LIB|RUBYOPT|RUBYLIB|PATH)$/;

export type AllowlistVerdict = { allowed: true; resolved?: string } | { allowed: false; reason: string };

const ASK_ADMIN = 'Ask your n8n instance admin';
/** Where Node's spawn (libuv) searches when the job's environment has no PATH: glibc's _PATH_DEFPATH (musl's also has /usr/local/bin). */
const DEFAULT_PATH = '/usr/bin:/bin';

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

/**
 * The path the OS will execute for a command, as it will look it up (execvp): a name with a slash is taken as it is
 * (relative to the job's folder); a bare name is searched in PATH, where an empty or relative entry is relative to
 * the job's folder; without any PATH, the C library's default. The first regular executable file wins. The path is
 * returned as found, not resolved.
 */
export function findExecutable(command: string, searchPath = process.env.PATH ?? DEFAULT_PATH, cwd = process.cwd()): string | undefined {
	const within = (folder: string): string => (isAbsolute(folder) ? folder : `${resolve(cwd)}/${folder || '.'}`);
	const candidates = command.includes('/') ? [isAbsolute(command) ? command : `${resolve(cwd)}/${command}`] : searchPath.split(delimiter).map((folder) => `${within(folder)}/${command}`);
	for (const candidate of candidates) {
		try {
			if (!statSync(candidate).isFile()) continue;
			accessSync(candidate, constants.X_OK);
			return candidate;
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

export function checkAllowed(command: string, options: { allowlist: string[] | undefined; path?: string; cwd?: string; shell?: string; envNames?: string[] }): AllowlistVerdict {
	if (!options.allowlist) return { allowed: true };
	const hook = options.envNames?.find((name) => CODE_LOADING_VARIABLES.test(name));
	if (hook) return { allowed: false, reason: `The environment variable ${hook} can make an allowlisted program run other code, so it is refused while ${ALLOWLIST_ENV} is set. ${ASK_ADMIN}.` };
	const program = options.shell ?? command;
	const found = findExecutable(program, options.path, options.cwd);
	const invoked = found === undefined ? undefined : invokedPath(found);
	const askAdmin = `${ASK_ADMIN} to add it to ${ALLOWLIST_ENV}, or use a command that is listed there.`;
	if (!found || !invoked) return { allowed: false, reason: `${options.shell ? 'The shell' : 'The command'} "${program}" cannot be resolved to an executable, and only allowlisted commands may run. ${askAdmin}` };
	if (options.allowlist.some((entry) => entryAllows(entry, invoked))) return { allowed: true, resolved: invoked };
	const what = options.shell ? `Use Shell needs the shell ${found}, which is not allowlisted` : `The command ${found} is not allowlisted`;
	return { allowed: false, reason: `${what}. ${askAdmin}${linkNote(found)}` };
}
