/**
 * Judging the PID file of a database: read it (giving a concurrent creator a moment), judge it with what this machine
 * knows (liveness.ts decides), what Redis says for files written under its key, and what DuckDB's own lock says
 * before a holder we cannot see is called gone.
 */
import { databaseLocked } from '../duckdb/database-holders';
import { fileLocks } from '../proc/file-holders';
import { groupAlive } from '../proc/group';
import { bootId, hostName, pidNamespace } from '../proc/identity';
import { lookupProcess, type LookedUpProcess } from '../proc/lookup';
import { checkableByPid, judgeLock, type LockVerdict } from './liveness';
import { parsePidFile, pidFilePathFor, type LockRecord, type ParsedPidFile } from './pid-file-format';
import { readPidFileSettled, type PidFileRead } from './pid-file-io';

export type LockInspection =
	| { pidFile: string; state: 'none' }
	| ({ pidFile: string; previous?: PreviousHolder } & LockVerdict);

/** What a PID file said about its holder, for reports after it was judged or removed. */
export type PreviousHolder = { kind: 'record'; record: LockRecord } | { kind: 'legacy'; pid: number };

/** How holders that cannot be checked by PID are judged. */
export interface JudgeOptions {
	staleAfterMs?: number;
	/**
	 * Redis decides for PID files written under its key: such a file is stale unless its token is the one the key holds
	 * right now. Asked after the file was read (a run takes the key before it writes the file), never from an older
	 * snapshot; when Redis cannot answer, the file is judged like any other.
	 */
	redis?: { key: string; currentToken: () => Promise<string | undefined> };
	/** Masks what a recovery claim records (our own command line). */
	mask?: (text: string) => string;
}

export function previousOf(parsed: ParsedPidFile): PreviousHolder | undefined {
	if (parsed.kind === 'record') return { kind: 'record', record: parsed.record };
	if (parsed.kind === 'legacy') return { kind: 'legacy', pid: parsed.pid };
	return undefined;
}

export interface JudgeContext extends JudgeOptions {
	databasePath: string;
}

export async function judge(
	read: PidFileRead & { kind: 'file' | 'unreadable' },
	context: JudgeContext,
): Promise<{ verdict: LockVerdict; previous?: PreviousHolder }> {
	if (read.kind === 'unreadable') return { verdict: { state: 'unreadable', reason: read.reason } };
	const parsed = parsePidFile(read.text);
	const pids =
		parsed.kind === 'record'
			? [parsed.record.pid, parsed.record.supervisor.pid]
			: parsed.kind === 'legacy'
				? [parsed.pid]
				: [];
	const facts = new Map<number, LookedUpProcess | undefined>();
	for (const pid of pids) if (!facts.has(pid)) facts.set(pid, await lookupProcess(pid));
	const local = {
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		process: (pid: number) => facts.get(pid),
		groupAlive,
		heartbeatAgeMs: read.kind === 'file' ? Date.now() - read.mtimeMs : undefined,
		staleAfterMs: context.staleAfterMs,
		databaseLocked: () => fileLocks(context.databasePath).length > 0,
	};
	const redis = context.redis;
	if (redis && parsed.kind === 'record' && parsed.record.backend === 'redis' && parsed.record.redisKey === redis.key) {
		const current = await redis.currentToken().then(
			(token) => ({ token }),
			() => undefined,
		);
		// Its writer lost the Redis key. Processes we can check here still decide (a job left running after its
		// supervisor gave up on stopping it keeps the database); only a writer we cannot see is judged by Redis alone.
		if (current && current.token !== parsed.record.token) {
			let here = checkableByPid(parsed.record, local) ? judgeLock(parsed, local) : undefined;
			// A writer elsewhere: its survivors would still hold DuckDB's own file lock, which DuckDB reports to us.
			if (!here && (await databaseLocked(context.databasePath)))
				here = judgeLock(parsed, { ...local, databaseLocked: () => true });
			if (here?.state === 'held') return { verdict: here, previous: previousOf(parsed) };
			const lost = `written under the Redis lock ${redis.key}, which its writer no longer holds`;
			const verdict: LockVerdict =
				here?.state === 'stale'
					? { ...here, detail: `${here.detail}; ${lost}` }
					: { state: 'stale', reason: 'lease-expired', detail: lost };
			return { verdict, previous: previousOf(parsed) };
		}
	}
	let verdict = judgeLock(parsed, local);
	if (verdict.state === 'stale' && verdict.reason === 'lease-expired') {
		// The heartbeat stopped, but is the holder gone? /proc/locks may hide the locks of other PID namespaces (other
		// containers), so DuckDB is asked where /proc is not conclusive: held (or no clear answer) wins.
		if (await databaseLocked(context.databasePath))
			verdict = judgeLock(parsed, { ...local, databaseLocked: () => true });
	}
	return { verdict, previous: previousOf(parsed) };
}

/** A read-only look at the lock of a database. Never changes anything. */
export async function inspectLock(databasePath: string, options: JudgeOptions = {}): Promise<LockInspection> {
	const pidFile = pidFilePathFor(databasePath);
	const read = await readPidFileSettled(pidFile);
	if (read.kind === 'absent') return { pidFile, state: 'none' };
	const { verdict, previous } = await judge(read, { ...options, databasePath });
	return { pidFile, previous, ...verdict };
}
