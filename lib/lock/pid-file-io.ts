/**
 * The file-system primitives the lock protocol is built from. Every one of them is atomic on a local POSIX file
 * system, never follows a symlink at the lock path, and never truncates or overwrites a file we did not create.
 */
import {
	closeSync,
	constants,
	fstatSync,
	lstatSync,
	openSync,
	readSync,
	renameSync,
	unlinkSync,
	writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { sleep } from '../base/sleep';

/** A PID file larger than this is not ours: reported as unreadable, never parsed. */
export const MAX_PID_FILE_BYTES = 64 * 1024;

export type PidFileRead =
	| { kind: 'absent' }
	| { kind: 'file'; text: string; ino: number; mtimeMs: number }
	| { kind: 'unreadable'; reason: string; ino?: number };

/** What identifies the exact file we wrote: checked with one lstat before we remove it. */
/**
 * What identifies the exact file we wrote. Device and inode alone do not: a filesystem hands a freed inode number to
 * the next file created, so a lock file replaced by another holder's may carry our old inode. The change time (set
 * by the kernel at creation and at every change, including our own heartbeats) tells them apart.
 */
export interface FileStamp {
	dev: number;
	ino: number;
	size: number;
	mtimeMs: number;
	ctimeMs: number;
}

export function stampOf(stat: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }): FileStamp {
	return { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs };
}

const tokenPrefix = randomBytes(9).toString('hex');
let tokenCounter = 0;

/** A value unique across processes and calls (random per process, counted within it). */
export function newToken(): string {
	return `${tokenPrefix}${(++tokenCounter).toString(36)}`;
}

export function sameStamp(path: string, stamp: FileStamp): boolean {
	try {
		const now = lstatSync(path);
		return (
			now.isFile() &&
			now.dev === stamp.dev &&
			now.ino === stamp.ino &&
			now.size === stamp.size &&
			now.mtimeMs === stamp.mtimeMs &&
			now.ctimeMs === stamp.ctimeMs
		);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
		throw error;
	}
}

/** Reads the lock file without following a symlink; anything that is not a small regular file is "unreadable". */
export function readPidFile(path: string): PidFileRead {
	let fd: number;
	try {
		fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ENOENT') return { kind: 'absent' };
		if (code === 'ELOOP')
			return {
				kind: 'unreadable',
				reason: `${path} is a symbolic link (not followed; remove it by hand if you planted it)`,
			};
		return { kind: 'unreadable', reason: `${path} cannot be opened (${code ?? String(error)})` };
	}
	try {
		const stat = fstatSync(fd);
		if (!stat.isFile()) return { kind: 'unreadable', reason: `${path} is not a regular file`, ino: stat.ino };
		if (stat.size > MAX_PID_FILE_BYTES) {
			return { kind: 'unreadable', reason: `${path} is ${stat.size} bytes, far larger than a PID file`, ino: stat.ino };
		}
		// One read of one byte more than the size: a file still being written shows up as shorter, never longer.
		const buffer = Buffer.alloc(stat.size + 1);
		const length = readSync(fd, buffer, 0, buffer.length, 0);
		if (length > stat.size) return { kind: 'unreadable', reason: `${path} is growing while read`, ino: stat.ino };
		return { kind: 'file', text: buffer.subarray(0, length).toString('utf8'), ino: stat.ino, mtimeMs: stat.mtimeMs };
	} finally {
		closeSync(fd);
	}
}

/** Writes a fresh private file next to `path` (exclusive create: never an existing file or a symlink's target). */
function writeTemporary(path: string, content: string): { temporary: string; stamp: FileStamp } {
	const temporary = `${path}.${newToken()}.tmp`;
	const stamp = createExclusive(temporary, content);
	if (!stamp) throw new Error(`${temporary} already exists`);
	return { temporary, stamp };
}

function removeQuietly(path: string): void {
	try {
		unlinkSync(path);
	} catch (error) {
		// Only ENOENT is expected here (already gone); anything else is worth surfacing.
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
	}
}

/**
 * Creates `path` with `content` only if nothing (not even a dangling symlink) is there: O_CREAT|O_EXCL is atomic,
 * so two starters can never both succeed, and it never follows a symlink or touches an existing file. Returns false
 * when something already exists at `path`. (Like PostgreSQL's postmaster.pid, the content follows the create in a
 * single write: a reader that finds the file empty retries for a moment, see `readPidFileSettled`.)
 */
export function createExclusive(path: string, content: string): FileStamp | undefined {
	let fd: number;
	try {
		fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
		throw error;
	}
	try {
		writeSync(fd, content);
		return stampOf(fstatSync(fd));
	} catch (error) {
		// Disk full or the like: the empty file is provably ours (O_EXCL); never leave it to block every later run.
		closeSync(fd);
		fd = -1;
		removeQuietly(path);
		throw error;
	} finally {
		if (fd >= 0) closeSync(fd);
	}
}

/** An empty file younger than this is taken to be a lock being written by another process right now. */
export const CREATING_GRACE_MS = 2000;

/** Like readPidFile, but gives a concurrent creator a moment to finish writing an empty file it just created. */
export async function readPidFileSettled(path: string): Promise<PidFileRead> {
	let read = readPidFile(path);
	// Bounded by the grace itself (measured by us too: another machine's clock may stamp the file in our future).
	const started = Date.now();
	for (
		let attempt = 0;
		read.kind === 'file' &&
		read.text === '' &&
		Date.now() - read.mtimeMs < CREATING_GRACE_MS &&
		Date.now() - started < CREATING_GRACE_MS;
		attempt++
	) {
		await sleep(attempt < 5 ? 1 : 10);
		read = readPidFile(path);
	}
	return read;
}

/** Atomically replaces the file at `path` (which the caller has verified to be its own) with new content. */
export function replaceOwn(path: string, content: string): FileStamp {
	const { temporary } = writeTemporary(path, content);
	try {
		renameSync(temporary, path);
		// A rename may update the change time: stamp the file as it is now.
		return stampOf(lstatSync(path));
	} catch (error) {
		removeQuietly(temporary);
		throw error;
	}
}
