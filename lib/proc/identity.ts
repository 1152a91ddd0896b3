/**
 * Process facts read straight from Linux `/proc`.
 *
 * Why not a library: `ps-list` shells out to `ps` with options BusyBox (n8n's Alpine image) does not support, and
 * its start time is only to the second, too coarse to tell a reused PID from the original. The kernel gives us the
 * exact start time in clock ticks, which together with the boot id is a process's identity.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** USER_HZ: the unit of `/proc/<pid>/stat` start times. A fixed 100 on Linux x86-64 and arm64 (kernel ABI). */
export const CLOCK_TICKS_PER_SECOND = 100;

export const procAvailable = process.platform === 'linux' && safeRead('/proc/self/stat') !== undefined;

export interface ProcessFacts {
	pid: number;
	ppid: number;
	/** Process group id. */
	pgid: number;
	/** One-letter kernel state: R running, S sleeping, D disk wait, T stopped, Z zombie, X dead. */
	state: string;
	/** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
	startTicks: number;
	/** Short name from /proc/<pid>/stat (at most 15 characters). */
	name: string;
	/** Full command line, arguments joined by spaces; the short name when the command line is unreadable. */
	command: string;
	/** Real user id, when readable. */
	uid?: number;
	/** Seconds since the process started. */
	elapsedSeconds: number;
}

function safeRead(path: string): string | undefined {
	try {
		return readFileSync(path, 'utf8');
	} catch {
		// Absent or unreadable /proc entries are an ordinary answer ("no such process"), not an error.
		return undefined;
	}
}

let cachedBootId: string | undefined;

/** The kernel boot id; changes at every reboot. Empty string where /proc is absent. */
export function bootId(): string {
	if (cachedBootId === undefined) {
		cachedBootId = (safeRead('/proc/sys/kernel/random/boot_id') ?? '').trim();
	}
	return cachedBootId;
}

let cachedHostName: string | undefined;

/** The host name, read once per process (every lock record carries it). */
export function hostName(): string {
	cachedHostName ??= hostname();
	return cachedHostName;
}

/** The PID namespace of this process (`pid:[4026531836]`), recorded for people; empty where unknown. */
let cachedPidNamespace: string | undefined;

export function pidNamespace(): string {
	if (cachedPidNamespace === undefined) {
		try {
			cachedPidNamespace = readlinkSync('/proc/self/ns/pid');
		} catch {
			// Not Linux, or /proc not mounted: the namespace is simply unknown.
			cachedPidNamespace = '';
		}
	}
	return cachedPidNamespace;
}

/** Seconds since boot, from /proc/uptime. */
export function uptimeSeconds(): number {
	const text = safeRead('/proc/uptime');
	return text ? Number.parseFloat(text.split(' ')[0]) : Number.NaN;
}

/**
 * Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may itself contain spaces
 * and parentheses, so the fixed fields are read after the *last* closing parenthesis.
 */
export function parseStat(
	text: string,
): Pick<ProcessFacts, 'pid' | 'ppid' | 'pgid' | 'state' | 'startTicks' | 'name'> | undefined {
	const open = text.indexOf('(');
	const close = text.lastIndexOf(')');
	if (open < 0 || close < open) return undefined;
	const rest = text.slice(close + 2).split(' ');
	// rest[0] is field 3 (state); field N is rest[N - 3].
	const pid = Number.parseInt(text.slice(0, open), 10);
	const startTicks = Number(rest[22 - 3]);
	if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(startTicks)) return undefined;
	return {
		pid,
		name: text.slice(open + 1, close),
		state: rest[0],
		ppid: Number(rest[4 - 3]),
		pgid: Number(rest[5 - 3]),
		startTicks,
	};
}

function readCommand(pid: number): string | undefined {
	const raw = safeRead(`/proc/${pid}/cmdline`);
	if (!raw) return undefined;
	return raw.replace(/\0+$/, '').split('\0').join(' ');
}

/**
 * The environment a process was started with (/proc/<pid>/environ), or undefined when it cannot be read: only the
 * process's own user (or root) may read it, which is what makes it a proof a file writer cannot forge.
 */
export function readEnvironment(pid: number): Map<string, string> | undefined {
	if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
	const raw = safeRead(`/proc/${pid}/environ`);
	if (raw === undefined) return undefined;
	const environment = new Map<string, string>();
	for (const entry of raw.split('\0')) {
		const eq = entry.indexOf('=');
		if (eq > 0) environment.set(entry.slice(0, eq), entry.slice(eq + 1));
	}
	return environment;
}

function readUid(pid: number): number | undefined {
	const status = safeRead(`/proc/${pid}/status`);
	const match = status?.match(/^Uid:\s+(\d+)/m);
	return match ? Number(match[1]) : undefined;
}

/** Facts about one process, or undefined when no such process exists (in this PID namespace). */
export function readProcess(pid: number, options: { details?: boolean } = {}): ProcessFacts | undefined {
	if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
	const stat = safeRead(`/proc/${pid}/stat`);
	if (stat === undefined) return undefined;
	const parsed = parseStat(stat);
	if (!parsed) return undefined;
	const details = options.details ?? true;
	return {
		...parsed,
		command: (details ? readCommand(pid) : undefined) ?? parsed.name,
		uid: details ? readUid(pid) : undefined,
		elapsedSeconds: elapsedFromTicks(parsed.startTicks),
	};
}

export function elapsedFromTicks(startTicks: number, uptime = uptimeSeconds()): number {
	return Math.max(0, Math.round((uptime - startTicks / CLOCK_TICKS_PER_SECOND) * 100) / 100);
}

/** Identity of the calling process, for lock records. */
export function selfIdentity(): { pid: number; startTicks?: number; pgid?: number; command: string } {
	const facts = procAvailable ? readProcess(process.pid) : undefined;
	return {
		pid: process.pid,
		startTicks: facts?.startTicks,
		pgid: facts?.pgid,
		command: facts?.command ?? process.argv.join(' '),
	};
}
