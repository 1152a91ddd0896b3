/** Facts about paths that the checks of user input need (missing or unreadable counts as "no"), and the file-access policy. */
import { realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

export function isDirectory(path: string): boolean {
	try {
		return statSync(path).isDirectory();
	} catch {
		// Missing or unreadable: not a folder we can use; the caller words the message.
		return false;
	}
}

export function isNonEmptyFile(path: string): boolean {
	try {
		return statSync(path).size > 0;
	} catch {
		// Missing: not a usable file.
		return false;
	}
}

/** True when `path` is `folder` itself or lies below it (both absolute and normalised). */
export function isInside(folder: string, path: string): boolean {
	const base = folder.endsWith(sep) ? folder : folder + sep;
	return path === folder || path.startsWith(base);
}

/**
 * The real path of `path` (links resolved), also for a path that does not exist yet: its nearest existing ancestor
 * resolved, the rest appended. Lets a policy compare what a file really is, not how it is spelled.
 */
export function realPathOf(path: string): string {
	const absolute = resolve(path);
	try {
		return realpathSync(absolute);
	} catch {
		// Missing: resolve the part that exists.
		const parent = dirname(absolute);
		return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
	}
}

/**
 * Where n8n keeps what decrypts every credential, and the other files it blocks nodes from (as n8n 2.x's
 * isFilePathBlocked does): its user folder `<N8N_USER_FOLDER or HOME>/.n8n`, the static cache beside it, and the
 * files and folders named by N8N_CONFIG_FILES, N8N_CUSTOM_EXTENSIONS, N8N_BINARY_DATA_STORAGE_PATH and the user
 * management e-mail templates. SQL and Ingest Files never reach them, whatever the instance's settings.
 */
export function n8nProtectedPaths(env: NodeJS.ProcessEnv = process.env): string[] {
	const home = env.N8N_USER_FOLDER || env.HOME || homedir();
	const listed = [
		...(env.N8N_CONFIG_FILES ?? '').split(','),
		...(env.N8N_CUSTOM_EXTENSIONS ?? '').split(';'),
		env.N8N_BINARY_DATA_STORAGE_PATH ?? '',
		env.N8N_UM_EMAIL_TEMPLATES_INVITE ?? '',
		env.N8N_UM_EMAIL_TEMPLATES_PWRESET ?? '',
	];
	const paths = [join(home, '.n8n'), join(home, '.cache', 'n8n'), ...listed.map((entry) => entry.trim()).filter((entry) => isAbsolute(entry))];
	return [...new Set(paths.map(realPathOf))];
}

/**
 * What SQL and Ingest Files may touch: files inside an allowed folder and not inside a denied path. Both lists hold
 * real paths. Deny wins: a denied folder inside an allowed one is carved out of it.
 */
export interface FileAccess {
	allowed: string[];
	denied: string[];
}

export type AccessVerdict = { ok: true } | { ok: false; reason: 'denied'; by: string } | { ok: false; reason: 'outside' };

/** Pure: may a file with this real path be touched? */
export function judgeAccess(realPath: string, access: FileAccess): AccessVerdict {
	const by = access.denied.find((denied) => isInside(denied, realPath));
	if (by) return { ok: false, reason: 'denied', by };
	return access.allowed.some((folder) => isInside(folder, realPath)) ? { ok: true } : { ok: false, reason: 'outside' };
}

/** The longest name most file systems take, in bytes; the lock files add up to 40 bytes to the database's name. */
const MAX_NAME_BYTES = 255;
const LOCK_SUFFIX_BYTES = 40;
const MAX_PATH_BYTES = 4000;

/**
 * Why a path given by a person cannot be used as it is, or undefined. Node turns bytes that are not UTF-8 into
 * U+FFFD, so such a path would name another file than the one meant (the lock would guard the wrong file); names
 * longer than the file system takes would fail deep inside the run.
 */
export function pathProblem(path: string, what: string, options: { lockFiles?: boolean } = {}): string | undefined {
	if (path.includes('\uFFFD')) return `The ${what} ${JSON.stringify(path)} contains bytes that are not valid UTF-8 (shown as \uFFFD), so it cannot be named exactly. Rename the file or folder using UTF-8.`;
	if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `The ${what} is too long (${Buffer.byteLength(path)} bytes; at most ${MAX_PATH_BYTES}).`;
	const names = path.split(sep);
	const long = names.find((name) => Buffer.byteLength(name) > MAX_NAME_BYTES);
	if (long !== undefined) return `A name in the ${what} is too long (${Buffer.byteLength(long)} bytes; file systems take at most ${MAX_NAME_BYTES}).`;
	const last = Buffer.byteLength(names[names.length - 1] ?? '');
	if (options.lockFiles && last > MAX_NAME_BYTES - LOCK_SUFFIX_BYTES) return `The ${what}'s file name is too long for its lock files (${last} bytes; at most ${MAX_NAME_BYTES - LOCK_SUFFIX_BYTES}).`;
	return undefined;
}
