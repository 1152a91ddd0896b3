/**
 * Removing a stale PID file with exactly one remover however many race: a claim (`<file>.recover`) taken the same
 * atomic way as the lock, the file checked byte for byte against what was judged, then unlinked.
 */
import { unlinkSync } from 'node:fs';
import { releaseByToken } from './held-pid-file';
import type { StaleReason } from './liveness';
import { pidFilePathFor, serializeRecord } from './pid-file-format';
import { createExclusive, newToken, readPidFile, readPidFileSettled } from './pid-file-io';
import { judge, type JudgeContext, type JudgeOptions, type PreviousHolder } from './judge-pid-file';
import { supervisorRecord } from './supervisor-record';

/** How deep the chain of recovery claims may go (each level only exists after a crash inside a recovery). */
export const MAX_CLAIM_DEPTH = 3;

export interface RecoveredLock {
	reason: StaleReason;
	detail: string;
	previous: PreviousHolder;
}

/** `kept`: the work done under the claim (the cleanup's owed After hook) said to leave the file. */
export type StaleRemoval = 'removed' | 'changed' | 'busy' | 'kept';

type Seen = { text: string; ino: number; mtimeMs: number };

/** Whether the file is still byte for byte the one judged (a heartbeat since then moves its modification time). */
function unchanged(path: string, seen: Seen): boolean {
	const now = readPidFile(path);
	return now.kind === 'file' && now.ino === seen.ino && now.text === seen.text && now.mtimeMs === seen.mtimeMs;
}

/**
 * Removes a PID file judged stale, with exactly one remover however many race: the remover first takes a claim
 * (`<file>.recover`, published atomically), then checks the file is byte-for-byte what it judged, then unlinks it.
 * A claim left by a remover that died is itself stale and is removed the same way, one level deeper.
 */
export async function removeStale(
	path: string,
	seen: Seen,
	depth: number,
	context: JudgeContext,
	underClaim?: () => Promise<boolean>,
): Promise<StaleRemoval> {
	const claimPath = `${path}.recover`;
	const claimToken = newToken();
	const claim = serializeRecord(supervisorRecord(claimToken, `recovering ${path}`, undefined, { mask: context.mask }));
	let owned = false;
	for (let attempt = 0; attempt < 3 && !owned; attempt++) {
		owned = createExclusive(claimPath, claim) !== undefined;
		if (owned) break;
		const current = await readPidFileSettled(claimPath);
		if (current.kind === 'absent') continue;
		if (current.kind === 'unreadable') return 'busy';
		const { verdict } = await judge(current, context);
		if (verdict.state !== 'stale' || depth >= MAX_CLAIM_DEPTH) return 'busy';
		await removeStale(claimPath, current, depth + 1, context);
	}
	if (!owned) return 'busy';
	try {
		// A heartbeat since we judged it (the modification time moved) means its holder lives: not ours to remove.
		if (!unchanged(path, seen)) return 'changed';
		if (underClaim && !(await underClaim())) return 'kept';
		// Checked again after the work under the claim, which may have taken a while.
		if (underClaim && !unchanged(path, seen)) return 'changed';
		unlinkSync(path);
		return 'removed';
	} finally {
		releaseByToken(claimPath, claimToken);
	}
}

/**
 * Removes the PID file of a database if, judged again right now, it is stale; with the same single-remover claim as
 * acquisition. Returns what was removed, or undefined when the lock is absent, held or unreadable.
 */
export async function removeStaleLock(
	databasePath: string,
	options: JudgeOptions & {
		afterDone?: boolean;
		/** Does the After the stale lock's run owed, under the removal claim; false keeps the lock. */
		payAfter?: (previous: PreviousHolder & { kind: 'record' }) => Promise<boolean>;
	} = {},
): Promise<RecoveredLock | undefined> {
	const pidFile = pidFilePathFor(databasePath);
	const current = await readPidFileSettled(pidFile);
	if (current.kind !== 'file') return undefined;
	const context = { ...options, databasePath };
	const { verdict, previous } = await judge(current, context);
	if (verdict.state !== 'stale' || !previous) return undefined;
	// A lock whose run still owes its After hook is removed only once that After was done (or a person says so),
	// under the claim, so that one remover does it, once, and no run can be between its Before and its job meanwhile.
	const owed = previous.kind === 'record' && previous.record.afterPending ? previous : undefined;
	if (owed && !options.afterDone && !options.payAfter) return undefined;
	const payAfter = owed && !options.afterDone && options.payAfter;
	const underClaim = payAfter ? () => payAfter(owed) : undefined;
	return (await removeStale(pidFile, current, 0, context, underClaim)) === 'removed'
		? { reason: verdict.reason, detail: verdict.detail, previous }
		: undefined;
}
