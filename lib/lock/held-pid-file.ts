/**
 * A lock this process holds: its PID file, proven ours by the file we wrote (stamp) or our token. Recording the job,
 * the heartbeat of the lease, and release by the owner only.
 */
import { closeSync, constants, fstatSync, futimesSync, openSync, readSync, unlinkSync } from 'node:fs';
import { MAX_PID_FILE_BYTES, readPidFile, replaceOwn, sameStamp, stampOf, type FileStamp } from './pid-file-io';
import { parsePidFile, serializeRecord, type LockRecord, type PendingAfter } from './pid-file-format';

export interface JobIdentity {
	pid: number;
	startTicks?: number;
	pgid?: number;
	command: string;
}

export type ReleaseResult =
	| { released: true }
	| { released: false; reason: 'already-released' | 'absent' | 'not-owner'; detail: string };

/** Removes the lock file only if it still carries `token`. Safe to call twice. */
export function releaseByToken(pidFile: string, token: string): ReleaseResult {
	const current = readPidFile(pidFile);
	if (current.kind === 'absent') return { released: false, reason: 'absent', detail: `${pidFile} does not exist` };
	if (current.kind === 'unreadable') return { released: false, reason: 'not-owner', detail: current.reason };
	const parsed = parsePidFile(current.text);
	if (parsed.kind !== 'record' || parsed.record.token !== token) {
		return { released: false, reason: 'not-owner', detail: `${pidFile} belongs to another holder; left in place` };
	}
	unlinkSync(pidFile);
	return { released: true };
}

/** A lock this process holds. */
export class HeldLock {
	private releasedAlready = false;

	constructor(
		readonly pidFile: string,
		private current: LockRecord,
		/** The exact file we wrote; one lstat tells whether it is still there, untouched. */
		private stamp: FileStamp,
	) {}

	get record(): LockRecord {
		return this.current;
	}

	get token(): string {
		return this.current.token;
	}

	/** Rewrites our own PID file (proven ours by its token) with a changed record. */
	private rewrite(next: LockRecord): void {
		const read = readPidFile(this.pidFile);
		const parsed = read.kind === 'file' ? parsePidFile(read.text) : undefined;
		if (parsed?.kind !== 'record' || parsed.record.token !== this.token) {
			throw new Error(`The lock ${this.pidFile} is no longer ours; refusing to overwrite it`);
		}
		this.stamp = replaceOwn(this.pidFile, serializeRecord(next));
		this.current = next;
	}

	/** Records (or clears) the After hook the run owes, so that whoever clears the lock after a crash does it. */
	markAfterPending(pending: PendingAfter | undefined): void {
		const next: LockRecord = { ...this.current, afterPending: pending };
		if (!pending) delete next.afterPending;
		this.rewrite(next);
	}

	/** Rewrites the PID file so that line 1 names the job (its process-group leader); the supervisor stays below. */
	recordJob(job: JobIdentity): void {
		this.rewrite({
			...this.current,
			pid: job.pid,
			role: 'job',
			pidStart: job.startTicks,
			pgid: job.pgid,
			command: job.command,
			jobStartedAt: new Date().toISOString(),
		});
	}

	/**
	 * Refreshes the lease: sets the file's modification time to now, on the very file we wrote, proven through the
	 * descriptor we change it by (opened without following links; same inode, and our token inside: an inode number
	 * alone may have been handed to the next holder's file). Returns false when the file is no longer ours (removed or
	 * replaced by someone who judged it stale): the lock is lost. I/O errors are thrown.
	 */
	heartbeat(): boolean {
		if (this.releasedAlready) return false;
		let fd: number;
		try {
			fd = openSync(this.pidFile, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code;
			if (code === 'ENOENT' || code === 'ELOOP') return false;
			throw error;
		}
		try {
			const before = fstatSync(fd);
			if (
				!before.isFile() ||
				before.dev !== this.stamp.dev ||
				before.ino !== this.stamp.ino ||
				before.size > MAX_PID_FILE_BYTES
			)
				return false;
			const buffer = Buffer.alloc(before.size);
			const length = readSync(fd, buffer, 0, buffer.length, 0);
			const parsed = parsePidFile(buffer.subarray(0, length).toString('utf8'));
			if (parsed.kind !== 'record' || parsed.record.token !== this.token) return false;
			const now = new Date();
			futimesSync(fd, now, now);
			this.stamp = stampOf(fstatSync(fd));
			return true;
		} finally {
			closeSync(fd);
		}
	}

	release(): ReleaseResult {
		if (this.releasedAlready)
			return { released: false, reason: 'already-released', detail: 'the lock was already released' };
		this.releasedAlready = true;
		if (sameStamp(this.pidFile, this.stamp)) {
			unlinkSync(this.pidFile);
			return { released: true };
		}
		// Not the file we wrote (touched by someone?): only its token can prove it is still ours.
		return releaseByToken(this.pidFile, this.token);
	}

	/**
	 * Ends the run but keeps the file, marked released and naming the After hook still owed (it failed, or was never
	 * tried): judged stale at once, so the next run with an After hook, or the cleanup, does that After.
	 */
	releaseOwing(pending: PendingAfter): ReleaseResult {
		if (this.releasedAlready)
			return { released: false, reason: 'already-released', detail: 'the lock was already released' };
		try {
			this.rewrite({ ...this.current, afterPending: pending, releasedAt: new Date().toISOString() });
		} catch (error) {
			return { released: false, reason: 'not-owner', detail: (error as Error).message };
		}
		this.releasedAlready = true;
		return { released: true };
	}

	/**
	 * Leaves the lock to the job's surviving process group: the file stays, marked so that we (alive) no longer
	 * count as its holder; it is stale once the group is gone. Returns false when the file is no longer ours.
	 */
	abandon(): boolean {
		const read = readPidFile(this.pidFile);
		const parsed = read.kind === 'file' ? parsePidFile(read.text) : undefined;
		if (parsed?.kind !== 'record' || parsed.record.token !== this.token) return false;
		this.current = { ...this.current, abandonedAt: new Date().toISOString() };
		this.stamp = replaceOwn(this.pidFile, serializeRecord(this.current));
		this.releasedAlready = true;
		return true;
	}
}
