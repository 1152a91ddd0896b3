/** A Redis lock this process holds: the key's lease renewed with the PID file's, lost before it can expire. */
import { messageOf } from '../base/errors';
import { abandonQuietly, FileLock, lostBy, type RenewResult } from './database-lock';
import type { PendingAfter } from './pid-file-format';
import type { HeldLock, JobIdentity, ReleaseResult } from './held-pid-file';
import { RedisLockClient } from './redis-client';
import { holderFor } from './redis-inspect';

export class RedisLock extends FileLock {
	constructor(
		held: HeldLock,
		heartbeatMs: number,
		staleAfterMs: number,
		private readonly client: RedisLockClient,
		private readonly key: string,
		private readonly keyToken: string,
		private readonly databasePath: string,
		/** performance.now() when the SET that took the key was sent: the lease runs from there. */
		takenAt: number,
	) {
		super(held, heartbeatMs, staleAfterMs);
		this.lastRenewed = takenAt;
		client.keepReconnecting();
	}

	/** Holder details Redis has not taken yet: sent with every renewal until one succeeds. */
	private pendingHolder?: ReturnType<typeof holderFor>;

	async recordJob(job: JobIdentity): Promise<void> {
		this.held.recordJob(job);
		// The holder record must name the job before its program runs (the gate waits for this). A failed update is
		// also retried by the next renewal (until then Redis names the supervisor, whose death alone must not make the
		// key look abandoned).
		this.pendingHolder = holderFor(
			this.databasePath,
			this.keyToken,
			this.held.record,
			this.heartbeatMs,
			this.staleAfterMs,
		);
		let ours: boolean;
		try {
			ours = await this.client.renew(this.key, this.keyToken, this.staleAfterMs, this.pendingHolder);
		} catch (error) {
			throw new Error(`the Redis holder record of ${this.key} could not be updated: ${messageOf(error)}`);
		}
		if (!ours) throw new Error(`the Redis lock ${this.key} is no longer ours`);
		this.pendingHolder = undefined;
	}

	async renew(): Promise<RenewResult> {
		const sentAt = performance.now();
		// Our PID file gone or replaced: a run without Redis may have taken the database: never two writers.
		let file: RenewResult;
		try {
			file = this.held.heartbeat()
				? { ok: true }
				: { ok: false, lost: true, detail: `${this.pidFile} is no longer ours (removed or replaced)` };
		} catch (error) {
			file = { ok: false, lost: false, detail: `the heartbeat of ${this.pidFile} failed: ${messageOf(error)}` };
		}
		if (!file.ok && file.lost) return file;
		try {
			const ours = await this.client.renew(this.key, this.keyToken, this.staleAfterMs, this.pendingHolder);
			if (ours) this.pendingHolder = undefined;
			if (!ours)
				return {
					ok: false,
					lost: true,
					detail: `the Redis lock ${this.key} is no longer ours (its lease ran out or it was removed)`,
				};
			this.lastRenewed = sentAt;
			return file;
		} catch (error) {
			// Redis unreachable: the lease runs until it expires; the job is stopped before it can.
			const silentMs = performance.now() - this.lastRenewed;
			return {
				ok: false,
				lost: lostBy(silentMs, this.staleAfterMs, this.heartbeatMs),
				detail: `${messageOf(error)} (no renewal for ${Math.round(silentMs / 100) / 10}s; the lease lasts ${Math.round(this.staleAfterMs / 1000)}s)`,
			};
		}
	}

	async release(): Promise<ReleaseResult> {
		return this.releaseKey(this.held.release());
	}

	/** The key is released; the file stays recording the owed After, which every acquirer honours. */
	async releaseOwing(pending: PendingAfter): Promise<ReleaseResult> {
		return this.releaseKey(this.held.releaseOwing(pending));
	}

	private async releaseKey(file: ReleaseResult): Promise<ReleaseResult> {
		try {
			const released = await this.client.releaseIfToken(this.key, this.keyToken);
			if (!released)
				return {
					released: false,
					reason: 'not-owner',
					detail: `the Redis lock ${this.key} was no longer ours when released (its lease had run out)`,
				};
			return file.released || file.reason === 'absent' ? { released: true } : file;
		} catch (error) {
			return {
				released: false,
				reason: 'not-owner',
				detail: `${messageOf(error)}; the Redis lock expires by itself ${Math.round(this.staleAfterMs / 1000)}s after the last renewal`,
			};
		} finally {
			this.client.close();
		}
	}

	releaseSync(): void {
		this.held.release();
		this.client.close();
	}

	abandon(): void {
		abandonQuietly(this.held);
		this.client.close();
	}
}
