/**
 * Whether /proc/locks alone tells who holds a file's lock, so that asking DuckDB (a probe) can be skipped.
 *
 * It does when both hold: we are in the kernel's initial PID namespace (there every process on the machine is
 * visible, so no lock hides behind "another container"), and the file is on a filesystem whose locks the local
 * kernel keeps (a holder on another machine of a network filesystem never shows in /proc/locks). The filesystem
 * list is an allowlist: an unknown or network type (nfs, cifs, fuse, 9p, ceph, …) keeps the probe.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { pidNamespace } from './identity';

/** The inode of the initial PID namespace: PROC_PID_INIT_INO, fixed by the kernel (include/linux/proc_ns.h). */
export const INITIAL_PID_NAMESPACE = 'pid:[4026531836]';

/** Filesystems whose POSIX locks only the local kernel grants, so every holder is in our /proc/locks. */
const LOCAL_FILESYSTEMS = new Set([
	'ext2',
	'ext3',
	'ext4',
	'xfs',
	'btrfs',
	'tmpfs',
	'ramfs',
	'overlay',
	'zfs',
	'f2fs',
	'bcachefs',
	'jfs',
	'nilfs2',
	'reiserfs',
]);

export interface Visibility {
	/** True: /proc/locks is conclusive for this file; false: ask DuckDB. */
	conclusive: boolean;
	why: string;
}

/** Unescapes a mountinfo path field (the kernel writes space, tab, newline and backslash as octal). */
function unescapeMountPath(field: string): string {
	return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The filesystem type of the mount that contains `realPath` (the longest mount point above it), from mountinfo. */
export function filesystemOf(realPath: string, mountinfo: string): string | undefined {
	let best: { point: string; type: string } | undefined;
	for (const line of mountinfo.split('\n')) {
		// "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": point is field 5, type after " - ".
		const separator = line.indexOf(' - ');
		if (separator < 0) continue;
		const point = unescapeMountPath(line.slice(0, separator).split(' ')[4] ?? '');
		const type = line.slice(separator + 3).split(' ')[0];
		if (!point || !type) continue;
		const inside = point === '/' || realPath === point || realPath.startsWith(`${point}/`);
		// Later lines are mounted over earlier ones at the same point: >= lets the last one win.
		if (inside && (!best || point.length >= best.point.length)) best = { point, type };
	}
	return best?.type;
}

/** The decision, from the facts alone. */
export function judgeVisibility(namespace: string, filesystem: string | undefined): Visibility {
	if (namespace !== INITIAL_PID_NAMESPACE)
		return { conclusive: false, why: `PID namespace ${namespace || 'unknown'} is not the initial one` };
	if (!filesystem) return { conclusive: false, why: 'the filesystem could not be told from /proc/self/mountinfo' };
	if (!LOCAL_FILESYSTEMS.has(filesystem.split('.')[0]))
		return { conclusive: false, why: `${filesystem} is not known to be a local filesystem` };
	return { conclusive: true, why: `initial PID namespace, local ${filesystem}` };
}

function readMountinfo(): string {
	try {
		return readFileSync('/proc/self/mountinfo', 'utf8');
	} catch {
		// Not Linux, or /proc not mounted: nothing known, so the probe stays.
		return '';
	}
}

/** The folder the database is (or will be) in, resolved through symlinks; the path itself when that fails. */
function realFolderOf(databasePath: string): string {
	try {
		return realpathSync(dirname(databasePath));
	} catch {
		// A missing folder: the run will say so; here it only means the mount cannot be told.
		return dirname(databasePath);
	}
}

/** Is /proc/locks conclusive for this database? `mountinfo` replaces /proc/self/mountinfo (tests fake the table). */
export function lockVisibility(databasePath: string, mountinfo?: string): Visibility {
	const namespace = pidNamespace();
	if (namespace !== INITIAL_PID_NAMESPACE) return judgeVisibility(namespace, undefined);
	return judgeVisibility(namespace, filesystemOf(realFolderOf(databasePath), mountinfo ?? readMountinfo()));
}
