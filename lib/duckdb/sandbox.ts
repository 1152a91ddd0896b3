/**
 * Opening the database for a built-in operation, confined: DuckDB SQL can otherwise read and write any file the
 * process can (read_csv('/etc/passwd'), COPY ... TO anywhere, ATTACH). After connecting we set the allowed folders
 * and files, turn external access off (DuckDB refuses to turn it back on while the database is open) and lock the
 * configuration, so a script cannot widen the lists, move the temp directory or load an extension.
 *
 * DuckDB has an allowlist only. A denied path inside an allowed folder (n8n's own folder inside the home folder
 * that holds the database) is carved out: the folder is replaced by its entries, except the denied one, down to
 * the denied path's parent. DuckDB 1.5 resolves links before it compares (checked: a link inside an allowed folder
 * to a file outside is refused), so a link to n8n's folder does not reopen it.
 */
import { readdirSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { isDirectory, isInside } from '../base/paths';
import { quoteLiteral } from './sql-text';
import { type FileAccess } from '../base/file-access';

export interface OpenSettings {
	databasePath: string;
	access: FileAccess;
	threads?: number;
	memoryLimit?: string;
}

export interface OpenDatabase {
	instance: DuckDBInstance;
	connection: DuckDBConnection;
	close(): void;
}

/** DuckDB's two lists: folders (as prefixes ending in a separator) and single files. */
export interface SandboxLists {
	directories: string[];
	paths: string[];
}

function realOrUndefined(path: string): string | undefined {
	try {
		return realpathSync(path);
	} catch {
		// Vanished or unreadable link target: neither listed nor reachable.
		return undefined;
	}
}

/** One allowed folder with the denied paths inside it carved out. */
function carve(folder: string, denied: string[], lists: SandboxLists): void {
	if (denied.some((path) => isInside(path, folder))) return;
	const inner = denied.filter((path) => isInside(folder, path));
	if (!inner.length) {
		lists.directories.push(folder.endsWith(sep) ? folder : folder + sep);
		return;
	}
	let entries;
	try {
		entries = readdirSync(folder, { withFileTypes: true });
	} catch {
		// Unreadable: DuckDB could not read it either; allowing nothing of it loses nothing.
		return;
	}
	for (const entry of entries) {
		const path = join(folder, entry.name);
		const real = entry.isSymbolicLink() ? realOrUndefined(path) : path;
		if (!real || denied.some((deny) => isInside(deny, real) || isInside(real, deny))) {
			if (!entry.isSymbolicLink() && entry.isDirectory()) carve(path, denied, lists);
			continue;
		}
		if (entry.isDirectory() || (entry.isSymbolicLink() && isDirectory(real))) lists.directories.push(path + sep);
		else lists.paths.push(path);
	}
}

/** The lists DuckDB gets for this policy, from the folders' entries as they are now. */
export function sandboxLists(access: FileAccess): SandboxLists {
	const lists: SandboxLists = { directories: [], paths: [] };
	for (const folder of new Set(access.allowed)) carve(folder, access.denied, lists);
	return { directories: [...new Set(lists.directories)], paths: [...new Set(lists.paths)] };
}

export async function openConfined(settings: OpenSettings): Promise<OpenDatabase> {
	// No extension is ever installed or loaded: what a script can call is what the guard knows (and nothing downloads).
	const options: Record<string, string> = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
	if (settings.threads) options.threads = String(settings.threads);
	if (settings.memoryLimit) options.memory_limit = settings.memoryLimit;
	const instance = await DuckDBInstance.create(settings.databasePath, options);
	let connection: DuckDBConnection | undefined;
	try {
		connection = await instance.connect();
		const lists = sandboxLists(settings.access);
		const list = (values: string[]): string => `[${values.map(quoteLiteral).join(', ')}]`;
		await connection.run(`SET allowed_directories = ${list(lists.directories)}`);
		await connection.run(`SET allowed_paths = ${list(lists.paths)}`);
		await connection.run('SET enable_external_access = false');
		await connection.run('SET lock_configuration = true');
	} catch (error) {
		connection?.closeSync();
		instance.closeSync();
		throw error;
	}
	const open = connection;
	return {
		instance,
		connection: open,
		close() {
			open.closeSync();
			instance.closeSync();
		},
	};
}
