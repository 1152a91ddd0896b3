/**
 * Stopping a process group the way systemd and n8n's Execute Command node do: SIGTERM to the whole group, a grace
 * period, then SIGKILL to whatever is left.
 */
import { groupAlive, signalGroup, type GroupIdentity } from './group';

export interface Termination {
	reason: 'timeout' | 'canceled' | 'supervisor-signal' | 'stray-processes' | 'lock-lost';
	/** ISO time SIGTERM was sent. */
	sigtermAt: string;
	/** True when the grace period ran out and SIGKILL had to be sent. */
	sigkillSent: boolean;
	/** Milliseconds from SIGTERM until no process of the group was left. */
	groupGoneAfterMs?: number;
}

const POLL_MS = 10;

/**
 * Sends SIGTERM now and SIGKILL after `graceMs` if any member is still there; resolves once the group is empty
 * (or, when even SIGKILL cannot empty it, shortly after SIGKILL).
 */
export function stopGroup(group: GroupIdentity, graceMs: number, reason: Termination['reason']): { termination: Termination; done: Promise<Termination> } {
	const started = Date.now();
	const termination: Termination = { reason, sigtermAt: new Date(started).toISOString(), sigkillSent: false };
	signalGroup(group, 'SIGTERM');
	const done = new Promise<Termination>((resolve) => {
		let killedAt = 0;
		const check = (): void => {
			const now = Date.now();
			if (!groupAlive(group.pgid)) {
				termination.groupGoneAfterMs = now - started;
				return resolve(termination);
			}
			// Once: a SIGKILL that found nothing of ours to signal must not restart the 5 s limit below at every check.
			if (!killedAt && now - started >= graceMs) {
				termination.sigkillSent = signalGroup(group, 'SIGKILL');
				killedAt = now;
			}
			// Processes in uninterruptible sleep can outlive SIGKILL for a while; do not hang the outcome on them.
			if (killedAt && now - killedAt > 5000) return resolve(termination);
			// During the grace period, wake up for its end; once SIGKILL was sent (and always with no grace), poll at
			// the normal rate: each check scans /proc.
			setTimeout(check, killedAt ? POLL_MS : Math.min(POLL_MS, Math.max(1, started + graceMs - now)));
		};
		setTimeout(check, Math.min(POLL_MS, graceMs));
	});
	return { termination, done };
}
