/** The record a lock starts with: this process supervising, before any job, everything in it masked and bounded. */
import { redactUrls } from '../base/mask';
import { bootId, hostName, pidNamespace, selfIdentity } from '../proc/identity';
import { LEASE_DEFAULTS } from './liveness';
import type { LockRecord } from './pid-file-format';

/** What the record says of the lease and the backend, and how its texts are masked. */
export interface RecordOptions {
	heartbeatMs?: number;
	staleAfterMs?: number;
	/** Set by the Redis backend: the file is then written for people and scripts, and the Redis key decides. */
	redisKey?: string;
	/**
	 * Applied to every text written into the lock (the job's and our own command line, the owner): masks the run's
	 * secrets, which our own command line may carry (`--env API_KEY=…`). URL passwords are always redacted.
	 */
	mask?: (text: string) => string;
}

let cachedSelf: ReturnType<typeof selfIdentity> | undefined;
/** This process, once: its command line already cleared of URL passwords (it goes into a world-readable file). */
function self(): ReturnType<typeof selfIdentity> {
	if (!cachedSelf) {
		const me = selfIdentity();
		cachedSelf = { ...me, command: redactUrls(me.command) };
	}
	return cachedSelf;
}

/** The record a lock starts with: this process supervising, before any job. */
export function supervisorRecord(
	token: string,
	owner: string,
	command: string | undefined,
	lease: RecordOptions = {},
): LockRecord {
	const me = self();
	const mask = lease.mask ?? ((text: string) => text);
	const ownCommand = mask(me.command);
	return {
		pid: me.pid,
		role: 'supervisor',
		pidStart: me.startTicks,
		pgid: me.pgid,
		command: command === undefined ? ownCommand : mask(command),
		host: hostName(),
		bootId: bootId(),
		pidNamespace: pidNamespace(),
		lockedAt: new Date().toISOString(),
		owner: mask(owner),
		supervisor: { pid: me.pid, startTicks: me.startTicks, command: ownCommand },
		token,
		heartbeatMs: lease.heartbeatMs ?? LEASE_DEFAULTS.heartbeatMs,
		staleAfterMs: lease.staleAfterMs ?? LEASE_DEFAULTS.staleAfterMs,
		backend: lease.redisKey ? 'redis' : undefined,
		redisKey: lease.redisKey,
	};
}
