/**
 * WAL recovery: open the database read-write in a child process (DuckDB replays the WAL: committed transactions
 * kept, uncommitted dropped), CHECKPOINT, close. Only when nothing holds the database. Nothing here deletes a file:
 * if replay fails, the database and its WAL stay exactly as they were, for a backup and a person.
 */
import { statSync } from 'node:fs';
import { findWalFiles } from '../base/wal-files';
import { runNodeScript } from '../proc/node-script';
import { WORKER_SCRIPT } from './probe';

export interface WalRecovery {
	ok: boolean;
	/** Database plus WAL bytes before, and after. */
	bytesBefore: number;
	bytesAfter: number;
	walBytesBefore: number;
	walFilesAfter: string[];
	tables?: number;
	/** DuckDB's estimate of the rows in all tables after recovery. */
	rows?: number;
	/** DuckDB's error when the WAL could not be replayed (walReplayFailed). */
	walReplayFailed?: string;
	advice?: string;
}

function fileBytes(path: string): number {
	try {
		return statSync(path).size;
	} catch {
		// Missing file: zero bytes.
		return 0;
	}
}

export async function recoverWal(databasePath: string, timeoutMs = 10 * 60_000): Promise<WalRecovery> {
	const walBefore = findWalFiles(databasePath);
	if (fileBytes(databasePath) === 0) {
		// DuckDB deletes a WAL whose database file is missing when it opens the path read-write: never let it.
		return {
			ok: false,
			bytesBefore: walBefore.totalBytes,
			bytesAfter: walBefore.totalBytes,
			walBytesBefore: walBefore.totalBytes,
			walFilesAfter: walBefore.files.map((file) => file.path),
			walReplayFailed: `the database file ${databasePath} is missing or empty while its WAL exists; not opened (DuckDB would discard the WAL)`,
			advice: `Nothing was touched. Restore ${databasePath} from where it was moved or backed up, next to its WAL, then recover again; or copy the WAL files somewhere safe first.`,
		};
	}
	const bytesBefore = fileBytes(databasePath) + walBefore.totalBytes;
	const result = await runNodeScript<{ ok: boolean; tables?: number; rows?: number; error?: string }>(
		WORKER_SCRIPT,
		['recover', databasePath],
		timeoutMs,
	);
	const walAfter = findWalFiles(databasePath);
	const base = {
		bytesBefore,
		bytesAfter: fileBytes(databasePath) + walAfter.totalBytes,
		walBytesBefore: walBefore.totalBytes,
		walFilesAfter: walAfter.files.map((file) => file.path),
	};
	if (result.reply?.ok) return { ok: true, ...base, tables: result.reply.tables, rows: result.reply.rows };
	const error =
		result.reply?.error ??
		(result.timedOut ? `recovery did not finish within ${timeoutMs} ms` : result.stderr.trim().slice(-500));
	return {
		ok: false,
		...base,
		walReplayFailed: error,
		advice: `Nothing was deleted. Copy ${databasePath} and every ${databasePath}.wal* file together to a safe place before trying anything else; then open a copy with the duckdb CLI of the same version to investigate.`,
	};
}
