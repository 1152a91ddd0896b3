/** Facts about paths that the checks of user input need (missing or unreadable counts as "no"). */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';

export function isDirectory(path: string): boolean {
	try {
		return statSync(path).isDirectory();
	} catch {
		// Missing or unreadable: not a folder we can use; the caller words the message.
		return false;
	}
}

export function isNonEmptyFile(path: string): boolean {
	try {
		return statSync(path).size > 0;
	} catch {
		// Missing: not a usable file.
		return false;
	}
}

/** True when `path` is `folder` itself or lies below it (both absolute and normalised). */
export function isInside(folder: string, path: string): boolean {
	const base = folder.endsWith(sep) ? folder : folder + sep;
	return path === folder || path.startsWith(base);
}

/**
 * The real path of `path` (links resolved), also for a path that does not exist yet: its nearest existing ancestor
 * resolved, the rest appended. Lets a policy compare what a file really is, not how it is spelled.
 */
export function realPathOf(path: string): string {
	const absolute = resolve(path);
	// existsSync first: a missing path (or a link to nothing) is common here, and a failing realpath costs an exception.
	// The native realpath resolves in one call what the JS one walks with an lstat per part.
	if (existsSync(absolute)) {
		try {
			return realpathSync.native(absolute);
		} catch {
			// Gone meanwhile: as missing.
		}
	}
	const parent = dirname(absolute);
	return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
}

/** The longest name most file systems take, in bytes; the lock files add up to 40 bytes to the database's name. */
const MAX_NAME_BYTES = 255;
const LOCK_SUFFIX_BYTES = 40;
const MAX_PATH_BYTES = 4000;

/**
 * Why a path given by a person cannot be used as it is, or undefined. Node turns bytes that are not UTF-8 into
 * U+FFFD, so such a path would name another file than the one meant (the lock would guard the wrong file); names
 * longer than the file system takes would fail deep inside the run.
 */
export function pathProblem(path: string, what: string, options: { lockFiles?: boolean } = {}): string | undefined {
	if (path.includes('\uFFFD'))
		return `The ${what} ${JSON.stringify(path)} contains bytes that are not valid UTF-8 (shown as \uFFFD), so it cannot be named exactly. Rename the file or folder using UTF-8.`;
	if (Buffer.byteLength(path) > MAX_PATH_BYTES)
		return `The ${what} is too long (${Buffer.byteLength(path)} bytes; at most ${MAX_PATH_BYTES}).`;
	const names = path.split(sep);
	const long = names.find((name) => Buffer.byteLength(name) > MAX_NAME_BYTES);
	if (long !== undefined)
		return `A name in the ${what} is too long (${Buffer.byteLength(long)} bytes; file systems take at most ${MAX_NAME_BYTES}).`;
	const last = Buffer.byteLength(names[names.length - 1] ?? '');
	if (options.lockFiles && last > MAX_NAME_BYTES - LOCK_SUFFIX_BYTES)
		return `The ${what}'s file name is too long for its lock files (${last} bytes; at most ${MAX_NAME_BYTES - LOCK_SUFFIX_BYTES}).`;
	return undefined;
}
