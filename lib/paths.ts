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
