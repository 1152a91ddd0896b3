/**
 * DuckDB's lock-conflict error, e.g. (1.5.x):
 *   IO Error: Could not set lock on file "/data/x.duckdb": Conflicting lock is held in /usr/bin/python3 (PID 3871) by user ops. See also ...
 * The URL after it changes between versions, so only the PID part is matched. PID 0 means a process DuckDB cannot
 * see (another PID namespace: another container, another n8n worker); DuckDB then names no program:
 *   IO Error: Could not set lock on file "/data/x.duckdb": Conflicting lock is held in PID 0. See also ...
 */
export interface LockConflict {
	pid: number;
	program: string;
	user?: string;
	readersOnly: boolean;
}

export function parseLockConflict(message: string): LockConflict | undefined {
	const readersOnly = /read-only/i.test(message);
	const match = /Conflicting lock is held in (.*?) \(PID (\d+)\)(?: by user (\S+?))?[.\s]/.exec(`${message} `);
	if (match) return { program: match[1], pid: Number(match[2]), user: match[3], readersOnly };
	const unseen = /Conflicting lock is held in PID (\d+)[.\s]/.exec(`${message} `);
	if (unseen)
		return { program: 'a process in another PID namespace or on another machine', pid: Number(unseen[1]), readersOnly };
	return undefined;
}
