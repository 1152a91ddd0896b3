/**
 * The manifest: a table in the database itself that records every ingested file (path, size, modified time, rows,
 * when), written in the same transaction as the file's rows. A file is therefore either fully in the table and in
 * the manifest, or in neither, and a re-run skips exactly the files already committed.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type QualifiedName } from '../spec';
import type { SourceFile } from './sources';
import { quoteLiteral } from '../../duckdb/sql-text';

export const MANIFEST_TABLE = 'duckdb_safe_ingest_files';

export interface ManifestEntry {
	size: number;
	modifiedMs: number;
	rows: number;
	ingestedAt: string;
}

function tableKey(table: QualifiedName): string {
	return `${table.schema}.${table.name}`;
}

export async function ensureManifest(connection: DuckDBConnection): Promise<void> {
	await connection.run(`CREATE TABLE IF NOT EXISTS main.${MANIFEST_TABLE} (
		target_table VARCHAR NOT NULL,
		path VARCHAR NOT NULL,
		size BIGINT NOT NULL,
		modified_ms BIGINT NOT NULL,
		modified_at TIMESTAMPTZ,
		rows BIGINT NOT NULL,
		ingested_at TIMESTAMPTZ NOT NULL,
		PRIMARY KEY (target_table, path)
	)`);
}

export async function readManifest(
	connection: DuckDBConnection,
	table: QualifiedName,
): Promise<Map<string, ManifestEntry>> {
	const reader = await connection.runAndReadAll(
		`SELECT path, size, modified_ms, rows, strftime(ingested_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS ingested_at FROM main.${MANIFEST_TABLE} WHERE target_table = ${quoteLiteral(tableKey(table))}`,
	);
	const entries = new Map<string, ManifestEntry>();
	for (const row of reader.getRowObjects()) {
		entries.set(String(row.path), {
			size: Number(row.size),
			modifiedMs: Number(row.modified_ms),
			rows: Number(row.rows),
			ingestedAt: String(row.ingested_at),
		});
	}
	return entries;
}

/** Inside the file's transaction. The path stored is the file's real path (its key). */
export async function recordFile(
	connection: DuckDBConnection,
	table: QualifiedName,
	file: SourceFile,
	rows: number,
): Promise<void> {
	const modified = Math.trunc(file.modifiedMs);
	await connection.run(
		`INSERT OR REPLACE INTO main.${MANIFEST_TABLE} VALUES (${quoteLiteral(tableKey(table))}, ${quoteLiteral(file.key)}, ${file.size}, ${modified}, make_timestamptz(${modified}::BIGINT * 1000), ${rows}, now())`,
	);
}

/**
 * The table is reloaded (Replace) or created anew (it was dropped, or never made it): its old entries describe rows
 * that are not there, so they go, in the same transaction.
 */
export async function forgetTable(connection: DuckDBConnection, table: QualifiedName): Promise<void> {
	await connection.run(`DELETE FROM main.${MANIFEST_TABLE} WHERE target_table = ${quoteLiteral(tableKey(table))}`);
}

export function isUnchanged(entry: ManifestEntry | undefined, file: SourceFile): boolean {
	return entry !== undefined && entry.size === file.size && entry.modifiedMs === Math.trunc(file.modifiedMs);
}
