/** The file-access policy of SQL and Ingest Files: what they may touch, and what n8n protects from every node. */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { isInside, realPathOf } from './paths';

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
	const paths = [
		join(home, '.n8n'),
		join(home, '.cache', 'n8n'),
		...listed.map((entry) => entry.trim()).filter((entry) => isAbsolute(entry)),
	];
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

export type AccessVerdict =
	| { ok: true }
	| { ok: false; reason: 'denied'; by: string }
	| { ok: false; reason: 'outside' };

/** Pure: may a file with this real path be touched? */
export function judgeAccess(realPath: string, access: FileAccess): AccessVerdict {
	const by = access.denied.find((denied) => isInside(denied, realPath));
	if (by) return { ok: false, reason: 'denied', by };
	return access.allowed.some((folder) => isInside(folder, realPath)) ? { ok: true } : { ok: false, reason: 'outside' };
}
