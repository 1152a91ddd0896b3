/**
 * Waiting on a run the way a test sees it from outside: the job its PID file names once the lock records it, and
 * the end of that job's process group and of the lock. The waits are generous (a loaded CI machine), never timing goals.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parsePidFile, type LockRecord } from '../../lib/lock/pid-file-format';
import { groupMembers } from '../../lib/proc/group';
import { sleep } from './processes';

/** The job record of the database's PID file, once it names the job (about 10 s at most). */
export async function recordedJob(db: string): Promise<LockRecord> {
	for (let i = 0; i < 500; i++) {
		const parsed = existsSync(`${db}.pid`) ? parsePidFile(readFileSync(`${db}.pid`, 'utf8')) : undefined;
		if (parsed?.kind === 'record' && parsed.record.role === 'job') return parsed.record;
		await sleep(20);
	}
	throw new Error(`the PID file of ${db} never named a job`);
}

/** Waits until no process of the job's group is left and the lock is released, and asserts both. */
export async function assertJobGoneAndUnlocked(jobPid: number, db: string): Promise<void> {
	for (let i = 0; i < 250 && (groupMembers(jobPid).length || existsSync(`${db}.pid`)); i++) await sleep(20);
	assert.deepEqual(groupMembers(jobPid), [], 'no process of the job group survives');
	assert.equal(existsSync(`${db}.pid`), false, 'the lock is released');
}
