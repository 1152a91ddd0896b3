/**
 * The database lock: a PID file next to the database, taken atomically, recovered safely when stale, released only
 * by its owner.
 */
import { dirname } from 'node:path';
import { unlinkSync } from 'node:fs';
import { bootId, hostName, pidNamespace, selfIdentity } from '../proc/identity';
import { lookupProcess, type LookedUpProcess } from '../proc/lookup';
import { groupAlive } from '../proc/group';
import { fileLocks } from '../proc/file-holders';
import { probeDatabase } from '../duckdb/probe';
import { redactUrlPasswords } from '../base/mask';
import { UsageError } from '../base/errors';

import {
	createExclusive,
	newToken,
	readPidFile,
	readPidFileSettled,
	type FileStamp,
	type PidFileRead,
} from './pid-file-io';
import { HeldLock, releaseByToken, type JobIdentity, type ReleaseResult } from './held-pid-file';
import {
	checkableByPid,
	judgeLock,
	LEASE_DEFAULTS,
	type LockHolder,
	type LockVerdict,
	type StaleReason,
} from './liveness';
import { parsePidFile, serializeRecord, type LockRecord, type ParsedPidFile } from './pid-file-format';
import { waitForLock, type Attempt } from './wait';

export const LOCK_DEFAULTS = {
	/** How deep the chain of recovery claims may go (each level only exists after a crash inside a recovery). */
	maxClaimDepth: 3,
	/** How long an acquirer without a wait gives another process to finish recovering a stale lock. */
	recoveryPatienceMs: 2000,
};

export function pidFilePathFor(databasePath: string): string {
	return `${databasePath}.pid`;
}

export type LockInspection =
	| { pidFile: string; state: 'none' }
	| ({ pidFile: string; previous?: PreviousHolder } & LockVerdict);

/** What a PID file said about its holder, for reports after it was judged or removed. */
export type PreviousHolder = { kind: 'record'; record: LockRecord } | { kind: 'legacy'; pid: number };

export interface RecoveredLock {
	reason: StaleReason;
	detail: string;
	previous: PreviousHolder;
}

export interface AcquireOptions {
	/** Who holds the lock, for people and the cleanup tools (e.g. the n8n workflow and execution). */
	owner?: string;
	/** What the supervisor is about to run, written until the job itself is recorded. */
	command?: string;
	/** How long to wait for a held lock; 0 fails at once (like `flock -n`). */
	waitMs?: number;
	pollMs?: number;
	signal?: AbortSignal;
	/** Our lease, written into the file: how often we refresh the heartbeat and after how long others may judge us stale. */
	heartbeatMs?: number;
	/** Also our stale period for holders we can only judge by their lease. */
	staleAfterMs?: number;
	/** Set by the Redis backend: the file is then written for people and scripts, and the Redis key decides. */
	redisKey?: string;
	/** The Redis lock's token, reused for the file so that both say who holds them. */
	token?: string;
	/**
	 * Applied to every text written into the lock (the job's and our own command line, the owner): masks the run's
	 * secrets, which our own command line may carry (`--env API_KEY=…`). URL passwords are always redacted.
	 */
	mask?: (text: string) => string;
}

/** How holders that cannot be checked by PID are judged. */
export interface JudgeOptions {
	staleAfterMs?: number;
	/**
	 * Redis decides for PID files written under its key: such a file is stale unless its token is the one the key holds
	 * right now. Asked after the file was read (a run takes the key before it writes the file), never from an older
	 * snapshot; when Redis cannot answer, the file is judged like any other.
	 */
	redis?: { key: string; currentToken: () => Promise<string | undefined> };
}

export type AcquireResult =
	| { acquired: true; lock: HeldLock; recovered: RecoveredLock[]; waitedMs: number }
	| {
			acquired: false;
			reason: 'held';
			inspection: LockInspection & { state: 'held' | 'unreadable' };
			recovered: RecoveredLock[];
			waitedMs: number;
	  }
	| { acquired: false; reason: 'canceled'; recovered: RecoveredLock[]; waitedMs: number };

let cachedSelf: ReturnType<typeof selfIdentity> | undefined;
/** This process, once: its command line already cleared of URL passwords (it goes into a world-readable file). */
function self(): ReturnType<typeof selfIdentity> {
	if (!cachedSelf) {
		const me = selfIdentity();
		cachedSelf = { ...me, command: redactUrlPasswords(me.command) };
	}
	return cachedSelf;
}

/** The record a lock starts with: this process supervising, before any job. */
export function supervisorRecord(
	token: string,
	owner: string,
	command: string | undefined,
	lease: Pick<AcquireOptions, 'heartbeatMs' | 'staleAfterMs' | 'redisKey' | 'mask'> = {},
): LockRecord {
	const me = self();
	const mask = lease.mask ?? ((text: string) => text);
	const ownCommand = mask(me.command);
	return {
		pid: me.pid,
		role: 'supervisor',
		pidStart: me.startTicks,
		pgid: me.pgid,
		command: command === undefined ? ownCommand : mask(command),
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		lockedAt: new Date().toISOString(),
		owner: mask(owner),
		supervisor: { pid: me.pid, startTicks: me.startTicks, command: ownCommand },
		token,
		heartbeatMs: lease.heartbeatMs ?? LEASE_DEFAULTS.heartbeatMs,
		staleAfterMs: lease.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs,
		backend: lease.redisKey ? 'redis' : undefined,
		redisKey: lease.redisKey,
	};
}

function previousOf(parsed: ParsedPidFile): PreviousHolder | undefined {
	if (parsed.kind === 'record') return { kind: 'record', record: parsed.record };
	if (parsed.kind === 'legacy') return { kind: 'legacy', pid: parsed.pid };
	return undefined;
}

interface JudgeContext extends JudgeOptions {
	databasePath: string;
	/** Masks what a recovery claim records (our own command line). */
	mask?: (text: string) => string;
}

/** Whether DuckDB reports its file as locked (a probe without a clear answer counts as locked). */
async function confirmedHeld(databasePath: string): Promise<boolean> {
	const probe = await probeDatabase(databasePath);
	return probe.held || Boolean(probe.error);
}

async function judge(
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
			if (!here && (await confirmedHeld(context.databasePath)))
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
		// The heartbeat stopped, but is the holder gone? /proc/locks hides the locks of other PID namespaces (other
		// containers), so ask DuckDB, whose file lock conflicts across namespaces: held (or no clear answer) wins.
		if (await confirmedHeld(context.databasePath))
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

type StaleRemoval = 'removed' | 'changed' | 'busy';

/**
 * Removes a PID file judged stale, with exactly one remover however many race: the remover first takes a claim
 * (`<file>.recover`, published atomically), then checks the file is byte-for-byte what it judged, then unlinks it.
 * A claim left by a remover that died is itself stale and is removed the same way, one level deeper.
 */
async function removeStale(
	path: string,
	seen: { text: string; ino: number; mtimeMs: number },
	depth: number,
	context: JudgeContext,
): Promise<StaleRemoval> {
	const claimPath = `${path}.recover`;
	const claimToken = newToken();
	const claim = serializeRecord(supervisorRecord(claimToken, `recovering ${path}`, undefined, { mask: context.mask }));
	let owned = false;
	for (let attempt = 0; attempt < 3 && !owned; attempt++) {
		owned = createExclusive(claimPath, claim) !== undefined;
		if (owned) break;
		const current = await readPidFileSettled(claimPath);
		if (current.kind === 'absent') continue;
		if (current.kind === 'unreadable') return 'busy';
		const { verdict } = await judge(current, context);
		if (verdict.state !== 'stale' || depth >= LOCK_DEFAULTS.maxClaimDepth) return 'busy';
		await removeStale(claimPath, current, depth + 1, context);
	}
	if (!owned) return 'busy';
	try {
		const now = readPidFile(path);
		// A heartbeat since we judged it (the modification time moved) means its holder lives: not ours to remove.
		if (now.kind !== 'file' || now.ino !== seen.ino || now.text !== seen.text || now.mtimeMs !== seen.mtimeMs)
			return 'changed';
		unlinkSync(path);
		return 'removed';
	} finally {
		releaseByToken(claimPath, claimToken);
	}
}

function explainFsError(error: unknown, pidFile: string): never {
	const code = (error as NodeJS.ErrnoException).code;
	const folder = dirname(pidFile);
	if (code === 'ENOENT')
		throw new UsageError(`The database folder ${folder} does not exist. Create it, or fix the database path.`);
	if (code === 'ENOTDIR') throw new UsageError(`${folder} is not a folder. Fix the database path.`);
	if (code === 'ENAMETOOLONG')
		throw new UsageError(
			`The lock file name ${pidFile.slice(0, 80)}… is too long for the file system. Give the database a shorter name.`,
		);
	if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
		throw new UsageError(`Cannot create the lock file ${pidFile} (${code}). Give this user write access to ${folder}.`);
	}
	throw error;
}

/** Takes the lock of a database, recovering a stale one, optionally waiting for a held one. */
export async function acquireLock(databasePath: string, options: AcquireOptions = {}): Promise<AcquireResult> {
	const pidFile = pidFilePathFor(databasePath);
	const recovered: RecoveredLock[] = [];
	const token = options.token ?? newToken();
	const record = supervisorRecord(token, options.owner ?? '', options.command, options);
	const content = serializeRecord(record);
	// Holding the Redis key (the caller took it first), every other Redis holder's file is stale.
	const context: JudgeContext = {
		databasePath,
		staleAfterMs: options.staleAfterMs,
		mask: options.mask,
		redis: options.redisKey ? { key: options.redisKey, currentToken: async () => token } : undefined,
	};
	const attempt = async (waited: () => number): Promise<Attempt<AcquireResult>> => {
		let stamp: FileStamp | undefined;
		try {
			stamp = createExclusive(pidFile, content);
		} catch (error) {
			explainFsError(error, pidFile);
		}
		if (stamp)
			return { result: { acquired: true, lock: new HeldLock(pidFile, record, stamp), recovered, waitedMs: waited() } };
		const current = await readPidFileSettled(pidFile);
		if (current.kind === 'absent') return { retry: 'now' };
		const { verdict, previous } = await judge(current, context);
		if (verdict.state === 'stale' && current.kind === 'file') {
			const removal = await removeStale(pidFile, current, 0, context);
			if (removal === 'removed' && previous)
				recovered.push({ reason: verdict.reason, detail: verdict.detail, previous });
			if (removal !== 'busy') return { retry: 'now' };
			// Another process is recovering it; that takes milliseconds, so look again soon even without a wait.
			if (waited() < Math.max(options.waitMs ?? 0, LOCK_DEFAULTS.recoveryPatienceMs)) return { retry: 'after', ms: 5 };
			const reason = `the stale lock is being recovered by another process, or its recovery claim ${pidFile}.recover is stuck; run duckdb-lock-cleanup`;
			return {
				result: {
					acquired: false,
					reason: 'held',
					inspection: { pidFile, previous, state: 'unreadable', reason },
					recovered,
					waitedMs: waited(),
				},
			};
		}
		if (verdict.state === 'stale') return { retry: 'now' };
		return {
			held: {
				acquired: false,
				reason: 'held',
				inspection: { pidFile, previous, ...verdict },
				recovered,
				waitedMs: waited(),
			},
		};
	};
	return waitForLock(options, (waitedMs) => ({ acquired: false, reason: 'canceled', recovered, waitedMs }), attempt);
}

/**
 * Removes the PID file of a database if, judged again right now, it is stale; with the same single-remover claim as
 * acquisition. Returns what was removed, or undefined when the lock is absent, held or unreadable.
 */
export async function removeStaleLock(
	databasePath: string,
	options: JudgeOptions = {},
): Promise<RecoveredLock | undefined> {
	const pidFile = pidFilePathFor(databasePath);
	const current = await readPidFileSettled(pidFile);
	if (current.kind !== 'file') return undefined;
	const context = { ...options, databasePath };
	const { verdict, previous } = await judge(current, context);
	if (verdict.state !== 'stale' || !previous) return undefined;
	return (await removeStale(pidFile, current, 0, context)) === 'removed'
		? { reason: verdict.reason, detail: verdict.detail, previous }
		: undefined;
}

export { HeldLock, releaseByToken, type JobIdentity, type ReleaseResult };
export type { LockHolder, LockVerdict, StaleReason };
