/**
 * DuckDB's write-ahead log files next to a database: `<db>.wal` and the `<db>.wal.*` files DuckDB 1.5 writes in some
 * states. They hold committed transactions: this module only ever reads their names and sizes.
 */
import { readdirSync, lstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface WalFile {
	path: string;
	bytes: number;
	modifiedAt: string;
}

export interface WalReport {
	present: boolean;
	files: WalFile[];
	totalBytes: number;
}

export function findWalFiles(databasePath: string): WalReport {
	const folder = dirname(databasePath);
	const prefix = `${basename(databasePath)}.wal`;
	let names: string[];
	try {
		names = readdirSync(folder);
	} catch {
		// A folder we cannot list has no WAL we could report; the lock step reports the folder problem itself.
		names = [];
	}
	const files: WalFile[] = [];
	for (const name of names.sort()) {
		if (name !== prefix && !name.startsWith(`${prefix}.`)) continue;
		try {
			const stat = lstatSync(join(folder, name));
			files.push({ path: join(folder, name), bytes: stat.size, modifiedAt: stat.mtime.toISOString() });
		} catch {
			// Gone between listing and stat (DuckDB checkpointed it): nothing to report.
		}
	}
	return { present: files.length > 0, files, totalBytes: files.reduce((sum, file) => sum + file.bytes, 0) };
}
