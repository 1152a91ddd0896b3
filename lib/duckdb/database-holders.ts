/**
 * Who holds a DuckDB database: DuckDB's own file lock is the ground truth (the kernel drops it when the holder dies,
 * so a held lock means a live holder). Read from /proc; where /proc shows no lock and cannot be sure (another PID
 * namespace may hide it, a network filesystem, another OS: lib/proc/lock-visibility.ts), DuckDB is probed.
 */
import { findFileHolders, unseenFileLocks, type FileHolder } from '../proc/file-holders';
import { readProcess } from '../proc/identity';
import { lockVisibility } from '../proc/lock-visibility';
import { probeDatabase } from './probe';

export interface DatabaseHolder {
	/** null: DuckDB reports a holder it cannot see (PID 0: another PID namespace). */
	pid: number | null;
	ppid?: number;
	command: string;
	user?: string;
	state?: string;
	startTicks?: number;
	elapsedSeconds?: number;
	/** DuckDB's lock: write (read-write open), read (read-only open), or just an open file. */
	lock: 'write' | 'read' | 'open';
	/** True when it is (in the process group of) the job named in our PID file; never the supervisor, which may be n8n itself. */
	ours: boolean;
	source: 'duckdb-file-lock' | 'duckdb-probe';
}

/** Our job is what a "stuck job" policy may stop; the supervisor (n8n itself when the node runs) never is. */
function isOurs(holder: Pick<FileHolder, 'pid' | 'pgid'>, job: OurJob | undefined): boolean {
	if (!job) return false;
	return holder.pid === job.pid || (job.pgid !== undefined && holder.pgid === job.pgid);
}

/** A job of ours, as the lock names it: its leader and its process group. */
export interface OurJob {
	pid: number;
	pgid?: number;
}

export interface HolderQuery {
	/** Probe DuckDB when /proc shows no lock and is not conclusive (a round trip to the probe helper). */
	probe?: boolean;
	/** Replaces /proc/self/mountinfo in the "is /proc conclusive?" decision (tests fake a network mount with it). */
	mountinfo?: string;
	/** The job our PID file names (only when its role is job), to mark our own jobs. */
	ourJob?: OurJob;
	/** Include processes that only have the file open, without a lock. */
	includeOpen?: boolean;
}

export async function findDatabaseHolders(databasePath: string, query: HolderQuery = {}): Promise<DatabaseHolder[]> {
	const holders: DatabaseHolder[] = findFileHolders(databasePath, { includeOpen: query.includeOpen }).map((holder) => ({
		pid: holder.pid,
		ppid: holder.ppid,
		command: holder.command,
		user: holder.user,
		state: holder.state,
		startTicks: holder.startTicks,
		elapsedSeconds: holder.elapsedSeconds,
		lock: holder.lock,
		ours: isOurs(holder, query.ourJob),
		source: 'duckdb-file-lock',
	}));
	// A lock the kernel shows without a PID we can map: a holder in another container on this machine.
	const unseen = unseenFileLocks(databasePath);
	if (unseen.length) {
		const lock = unseen.some((entry) => entry.type === 'write') ? 'write' : 'read';
		holders.unshift({
			pid: null,
			command: 'a process in another PID namespace (another container on this machine)',
			lock,
			ours: false,
			source: 'duckdb-file-lock',
		});
	}
	if (!query.probe || holders.some((holder) => holder.lock !== 'open')) return holders;
	if (lockVisibility(databasePath, query.mountinfo).conclusive) return holders;
	const probe = await probeDatabase(databasePath);
	if (!probe.held) return holders;
	const visible = probe.pid > 0 ? holders.find((holder) => holder.pid === probe.pid) : undefined;
	if (visible) {
		visible.lock = probe.readersOnly ? 'read' : 'write';
		visible.source = 'duckdb-probe';
		return holders;
	}
	const facts = probe.pid > 0 ? readProcess(probe.pid) : undefined;
	return [
		{
			pid: probe.pid > 0 ? probe.pid : null,
			ppid: facts?.ppid,
			command: facts?.command ?? probe.program,
			state: facts?.state,
			startTicks: facts?.startTicks,
			elapsedSeconds: facts?.elapsedSeconds,
			user: probe.user,
			lock: probe.readersOnly ? 'read' : 'write',
			ours: false,
			source: 'duckdb-probe',
		},
		...holders,
	];
}

/**
 * Whether anyone holds DuckDB's lock on the database, for a lock whose heartbeat stopped: a probe without a clear
 * answer counts as held.
 */
export async function databaseLocked(databasePath: string): Promise<boolean> {
	if (lockHolders(await findDatabaseHolders(databasePath)).length) return true;
	if (lockVisibility(databasePath).conclusive) return false;
	const probe = await probeDatabase(databasePath);
	return probe.held || Boolean(probe.error);
}

/** Only the holders that hold DuckDB's lock (an open file alone does not stop a writer). */
export function lockHolders(holders: DatabaseHolder[]): DatabaseHolder[] {
	return holders.filter((holder) => holder.lock !== 'open');
}
