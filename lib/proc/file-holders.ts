/**
 * Who holds a file: POSIX locks from /proc/locks (DuckDB takes a whole-file fcntl lock: WRITE for a read-write open,
 * READ for a read-only one) and processes with the file open (/proc/<pid>/fd). Linux only; elsewhere the DuckDB
 * probe (lib/duckdb/probe.ts) answers instead.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { procAvailable, readProcess, type ProcessFacts } from './identity';

export interface FileLockEntry {
	/** null: the owner is not visible in our PID namespace (the kernel shows 0), or an OFD lock (no owning process). */
	pid: number | null;
	type: 'read' | 'write';
}

export interface FileHolder extends ProcessFacts {
	/** The lock this process holds on the file, or 'open' for an open file descriptor without a lock. */
	lock: 'write' | 'read' | 'open';
	user?: string;
}

/** Linux's encoding of dev_t, as Node's stat returns it. */
export function majorMinor(dev: number): { major: number; minor: number } {
	const big = BigInt(dev);
	const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
	const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
	return { major, minor };
}

/** Parses /proc/locks and returns the POSIX and OFD locks on the given device and inode (waiters excluded). */
export function parseProcLocks(text: string, dev: number, ino: number): FileLockEntry[] {
	const { major, minor } = majorMinor(dev);
	const entries: FileLockEntry[] = [];
	for (const line of text.split('\n')) {
		// "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a blocked waiter has "->" after the index.
		const fields = line.trim().split(/\s+/);
		if (fields.length < 6 || fields[1] === '->') continue;
		const [, , , type, pidText, where] = fields;
		const parts = where.split(':');
		if (parts.length !== 3) continue;
		if (Number.parseInt(parts[0], 16) !== major || Number.parseInt(parts[1], 16) !== minor || Number(parts[2]) !== ino)
			continue;
		const pid = Number(pidText);
		if (!Number.isSafeInteger(pid)) continue;
		// /proc/locks is kernel-wide: a holder in another PID namespace (another container) shows as 0, an OFD lock as
		// -1. Either way the file is locked by someone alive; we just cannot name them.
		entries.push({ pid: pid > 0 ? pid : null, type: type === 'WRITE' ? 'write' : 'read' });
	}
	return entries;
}

export function readProcLocks(): string {
	try {
		return readFileSync('/proc/locks', 'utf8');
	} catch {
		// No /proc/locks (not Linux): no locks we can see.
		return '';
	}
}

let userNames: Map<number, string> | undefined;
function userName(uid: number | undefined): string | undefined {
	if (uid === undefined) return undefined;
	if (!userNames) {
		userNames = new Map();
		try {
			for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
				const [name, , id] = line.split(':');
				if (name && id) userNames.set(Number(id), name);
			}
		} catch {
			// No /etc/passwd: report numeric ids only.
		}
	}
	return userNames.get(uid) ?? String(uid);
}

/** PIDs of processes that have `path` open, from their /proc/<pid>/fd links. */
export function processesWithFileOpen(path: string): number[] {
	let target: string;
	try {
		target = realpathSync(path);
	} catch {
		// The file does not exist: nobody has it open.
		return [];
	}
	const pids: number[] = [];
	for (const name of readdirSync('/proc')) {
		const pid = Number(name);
		if (!Number.isSafeInteger(pid) || pid <= 0) continue;
		let fds: string[];
		try {
			fds = readdirSync(`/proc/${pid}/fd`);
		} catch {
			// Gone, or not ours to look at (another user without privileges).
			continue;
		}
		for (const fd of fds) {
			let link: string;
			try {
				link = readlinkSync(`/proc/${pid}/fd/${fd}`);
			} catch {
				// Closed between listing and reading.
				continue;
			}
			if (link === target) {
				pids.push(pid);
				break;
			}
		}
	}
	return pids;
}

/** The kernel's locks on `path` (all PID namespaces of this machine). Empty when the file or /proc/locks is missing. */
export function fileLocks(path: string): FileLockEntry[] {
	if (!procAvailable) return [];
	let stat;
	try {
		stat = statSync(path);
	} catch {
		// No file, no locks.
		return [];
	}
	return parseProcLocks(readProcLocks(), stat.dev, stat.ino);
}

/** Locks on `path` whose owner we cannot see (another PID namespace on this kernel). */
export function unseenFileLocks(path: string): Array<FileLockEntry & { pid: null }> {
	return fileLocks(path).filter((entry): entry is FileLockEntry & { pid: null } => entry.pid === null);
}

/** Everyone holding `path` that we can see: lock holders first (write before read), then processes that only have it open. */
export function findFileHolders(path: string, options: { includeOpen?: boolean } = {}): FileHolder[] {
	if (!procAvailable) return [];
	const locks = fileLocks(path);
	const byPid = new Map<number, FileHolder['lock']>();
	for (const entry of locks)
		if (entry.pid !== null && byPid.get(entry.pid) !== 'write') byPid.set(entry.pid, entry.type);
	if (options.includeOpen ?? true)
		for (const pid of processesWithFileOpen(path)) if (!byPid.has(pid)) byPid.set(pid, 'open');
	const holders: FileHolder[] = [];
	for (const [pid, lock] of byPid) {
		const facts = readProcess(pid);
		if (facts && facts.state !== 'Z') holders.push({ ...facts, lock, user: userName(facts.uid) });
	}
	const rank = { write: 0, read: 1, open: 2 };
	return holders.sort((a, b) => rank[a.lock] - rank[b.lock] || a.pid - b.pid);
}
