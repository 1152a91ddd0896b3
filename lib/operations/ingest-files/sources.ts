/**
 * The source files of an Ingest Files run: listed with DuckDB's own glob inside the sandbox (in an in-memory
 * database, so that a run with nothing to do never creates or opens the real one), keyed by their real path (so
 * `src/a.csv`, `./src/a.csv` and a link to it are one file to the manifest), and for CSV, whether line 1 is a header.
 */
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { constants as zlib, gunzipSync } from 'node:zlib';

import { openConfined } from '../../duckdb/sandbox';
import { type Column, type CsvHeader } from '../spec';
import { quoteLiteral } from '../../duckdb/sql-text';
import { judgeAccess, type FileAccess } from '../../base/file-access';

export interface SourceFile {
	/** The path as matched (what DuckDB reads, what reports show). */
	path: string;
	/** The real path: the manifest's key. */
	key: string;
	size: number;
	modifiedMs: number;
}

export async function listSources(sources: string[], access: FileAccess): Promise<SourceFile[]> {
	const database = await openConfined({ databasePath: ':memory:', access });
	const paths = new Set<string>();
	try {
		for (const source of sources) {
			const reader = await database.connection.runAndReadAll(`SELECT file FROM glob(${quoteLiteral(source)})`);
			for (const row of reader.getRowObjects()) paths.add(String(row.file));
		}
	} finally {
		database.close();
	}
	const byKey = new Map<string, SourceFile>();
	for (const path of [...paths].sort()) {
		const stat = statSync(path, { throwIfNoEntry: false });
		if (!stat?.isFile()) continue;
		const key = realpathSync(path);
		if (!byKey.has(key)) byKey.set(key, { path, key, size: stat.size, modifiedMs: stat.mtimeMs });
	}
	return [...byKey.values()];
}

/**
 * Every matched file is checked by its real path before anything is opened: a link to a file outside the allowed
 * folders, or a file in n8n's own folder reached through a wildcard in a folder name, refuses the whole run.
 */
export function refusedSource(files: SourceFile[], access: FileAccess): string | undefined {
	for (const file of files) {
		const verdict = judgeAccess(file.key, access);
		if (verdict.ok) continue;
		const what = file.key === file.path ? file.path : `${file.path} (a link to ${file.key})`;
		return verdict.reason === 'denied'
			? `refusing ${what}: it is inside ${verdict.by}, which n8n protects (its folder holds the key to every credential). Narrow the source pattern`
			: `refusing ${what}: it is outside the allowed folders (${access.allowed.join(', ')}). Copy the file into the source folder, or allow its folder`;
	}
	return undefined;
}

function firstLine(path: string): string | undefined {
	const buffer = Buffer.alloc(64 * 1024);
	const fd = openSync(path, 'r');
	let length: number;
	try {
		length = readSync(fd, buffer, 0, buffer.length, 0);
	} finally {
		closeSync(fd);
	}
	let text: string;
	if (/\.gz$/i.test(path)) {
		try {
			// A partial stream: inflate what there is.
			text = gunzipSync(buffer.subarray(0, length), { finishFlush: zlib.Z_SYNC_FLUSH }).toString('utf8');
		} catch {
			// Not gzip after all, or corrupt: let DuckDB decide (and report).
			return undefined;
		}
	} else if (/\.zst$/i.test(path)) return undefined;
	else text = buffer.subarray(0, length).toString('utf8');
	return text.split(/\r?\n/)[0];
}

const TEXT_TYPE = /^(VARCHAR|TEXT|STRING|CHAR|BPCHAR)\b/i;

/**
 * With "detect" and known columns, line 1 is a header when it names the table's columns. Otherwise DuckDB's sniffer
 * decides, except for all-text columns, where it cannot tell a header from data: then line 1 is kept as data.
 */
export function csvHeaderFor(path: string, columns: Column[] | undefined, option: CsvHeader): CsvHeader {
	if (option !== 'auto' || !columns) return option;
	const line = firstLine(path);
	if (line === undefined) return 'auto';
	const cells = line.split(/[,;\t|]/).map((cell) =>
		cell
			.trim()
			.replace(/^"(.*)"$/, '$1')
			.toLowerCase(),
	);
	if (columns.every((column) => cells.includes(column.name.toLowerCase()))) return 'yes';
	return columns.some((column) => !TEXT_TYPE.test(column.type)) ? 'auto' : 'no';
}
