/**
 * Opening the database for a built-in operation, confined: DuckDB SQL can otherwise read and write any file the
 * process can (read_csv('/etc/passwd'), COPY ... TO anywhere, ATTACH). After connecting we set the allowed folders,
 * turn external access off (DuckDB refuses to turn it back on while the database is open) and lock the
 * configuration, so a script cannot widen the list, move the temp directory or load an extension.
 *
 * DuckDB compares path strings, not real paths: a symbolic link placed inside an allowed folder by someone with
 * shell access is followed. SQL itself cannot create links.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { quoteLiteral } from './spec';

export interface OpenSettings {
	databasePath: string;
	allowedDirectories: string[];
	threads?: number;
	memoryLimit?: string;
}

export interface OpenDatabase {
	instance: DuckDBInstance;
	connection: DuckDBConnection;
	close(): void;
}

export async function openConfined(settings: OpenSettings): Promise<OpenDatabase> {
	const options: Record<string, string> = {};
	if (settings.threads) options.threads = String(settings.threads);
	if (settings.memoryLimit) options.memory_limit = settings.memoryLimit;
	const instance = await DuckDBInstance.create(settings.databasePath, options);
	let connection: DuckDBConnection | undefined;
	try {
		connection = await instance.connect();
		// A trailing slash: '/data/src' must not also allow '/data/src-other'.
		const folders = settings.allowedDirectories.map((folder) => quoteLiteral(folder.endsWith('/') ? folder : `${folder}/`));
		await connection.run(`SET allowed_directories = [${folders.join(', ')}]`);
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
