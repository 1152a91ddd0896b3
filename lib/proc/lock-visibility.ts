/**
 * Whether /proc/locks alone tells who holds a file's lock, so that asking DuckDB (a probe) can be skipped.
 *
 * It does when both hold: we are in the kernel's initial PID namespace (there every process on the machine is
 * visible, so no lock hides behind "another container"), and the file is on a filesystem whose locks the local
 * kernel keeps (a holder on another machine of a network filesystem never shows in /proc/locks). The filesystem
 * list is an allowlist: an unknown or network type (nfs, cifs, fuse, 9p, ceph, …) keeps the probe. The file itself is
 * followed through symlinks, and its device must be the mount's (btrfs subvolumes report other device numbers than
 * /proc/locks uses: the probe stays there too).
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { majorMinor } from './file-holders';
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

export interface Mount {
	point: string;
	type: string;
	/** "major:minor", as mountinfo's third field gives it. */
	device: string;
}

/** The mount that contains `realPath` (the longest mount point above it), from mountinfo. */
export function mountOf(realPath: string, mountinfo: string): Mount | undefined {
	let best: Mount | undefined;
	for (const line of mountinfo.split('\n')) {
		// "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": point is field 5, type after " - ".
		const separator = line.indexOf(' - ');
		if (separator < 0) continue;
		const fields = line.slice(0, separator).split(' ');
		const point = unescapeMountPath(fields[4] ?? '');
		const type = line.slice(separator + 3).split(' ')[0];
		if (!point || !type) continue;
		const inside = point === '/' || realPath === point || realPath.startsWith(`${point}/`);
		// Later lines are mounted over earlier ones at the same point: >= lets the last one win.
		if (inside && (!best || point.length >= best.point.length)) best = { point, type, device: fields[2] ?? '' };
	}
	return best;
}

/** The filesystem type of the mount that contains `realPath`. */
export function filesystemOf(realPath: string, mountinfo: string): string | undefined {
	return mountOf(realPath, mountinfo)?.type;
}

/** The decision, from the facts alone; `device` is the file's own ("major:minor" of its stat). */
export function judgeVisibility(namespace: string, mount: Mount | undefined, device?: string): Visibility {
	if (namespace !== INITIAL_PID_NAMESPACE)
		return { conclusive: false, why: `PID namespace ${namespace || 'unknown'} is not the initial one` };
	if (!mount) return { conclusive: false, why: 'the filesystem could not be told from /proc/self/mountinfo' };
	if (!LOCAL_FILESYSTEMS.has(mount.type.split('.')[0]))
		return { conclusive: false, why: `${mount.type} is not known to be a local filesystem` };
	if (device !== undefined && device !== mount.device)
		return { conclusive: false, why: `the file's device ${device} is not its mount's ${mount.device}` };
	return { conclusive: true, why: `initial PID namespace, local ${mount.type}` };
}

function readMountinfo(): string {
	try {
		return readFileSync('/proc/self/mountinfo', 'utf8');
	} catch {
		// Not Linux, or /proc not mounted: nothing known, so the probe stays.
		return '';
	}
}

/** The database file as it really is (symlinks followed), or where it will be; and its device when it exists. */
function realFileOf(databasePath: string): { path: string; device?: string } {
	for (const path of [databasePath, dirname(databasePath)]) {
		try {
			const real = realpathSync(path);
			const { major, minor } = majorMinor(statSync(real).dev);
			return { path: path === databasePath ? real : join(real, basename(databasePath)), device: `${major}:${minor}` };
		} catch {
			// Missing (the file before its first run): its folder tells; a missing folder means the run fails anyway.
		}
	}
	return { path: databasePath };
}

/** Is /proc/locks conclusive for this database? `mountinfo` replaces /proc/self/mountinfo (tests fake the table). */
export function lockVisibility(databasePath: string, mountinfo?: string): Visibility {
	const namespace = pidNamespace();
	if (namespace !== INITIAL_PID_NAMESPACE) return judgeVisibility(namespace, undefined);
	const file = realFileOf(databasePath);
	return judgeVisibility(namespace, mountOf(file.path, mountinfo ?? readMountinfo()), file.device);
}
