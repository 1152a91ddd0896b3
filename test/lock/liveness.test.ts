/** Is a lock still held? The pure decision, case by case: dead, reused, zombie, rebooted, other hosts and namespaces, leases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLock, type LocalFacts } from '../../lib/lock/liveness';
import { parsePidFile, serializeRecord, type LockRecord } from '../../lib/lock/pid-file-format';
import type { LookedUpProcess } from '../../lib/proc/lookup';

const record: LockRecord = {
	pid: 4242,
	role: 'job',
	pidStart: 1000,
	pgid: 4242,
	command: 'python3 ingest.py --symbol BTCUSDT\nfake=line',
	host: 'n8n-1',
	bootId: 'boot-a',
	pidNamespace: 'pid:[1]',
	lockedAt: '2026-11-28T10:00:00.000Z',
	jobStartedAt: '2026-11-28T10:00:00.100Z',
	owner: 'workflow 7 "Binance\\history"',
	supervisor: { pid: 4000, startTicks: 900, command: 'node n8n' },
	token: 'abc123',
};

function facts(processes: Record<number, Partial<LookedUpProcess>>, host = 'n8n-1', bootId = 'boot-a'): LocalFacts {
	return {
		host,
		bootId,
		process: (pid) =>
			processes[pid]
				? ({
						pid,
						ppid: 1,
						pgid: pid,
						name: 'x',
						command: 'x',
						state: 'S',
						startTicks: 0,
						elapsedSeconds: 5,
						...processes[pid],
					} as LookedUpProcess)
				: undefined,
	};
}

test('liveness: alive with matching start time is held; dead, reused, zombie, rebooted are stale', () => {
	const parsed = parsePidFile(serializeRecord(record));
	const held = judgeLock(parsed, facts({ 4242: { startTicks: 1000 } }));
	assert.equal(held.state, 'held');
	assert.equal(held.state === 'held' && held.holder.role, 'job');
	assert.equal(held.state === 'held' && held.holder.identityProven, true);

	const supervisorOnly = judgeLock(parsed, facts({ 4000: { startTicks: 900 } }));
	assert.equal(
		supervisorOnly.state === 'held' && supervisorOnly.holder.role,
		'supervisor',
		'job gone, supervisor alive: still held',
	);

	const dead = judgeLock(parsed, facts({}));
	assert.deepEqual(dead.state === 'stale' && dead.reason, 'dead');

	const reused = judgeLock(parsed, facts({ 4242: { startTicks: 5555 }, 4000: { startTicks: 901 } }));
	assert.equal(reused.state === 'stale' && reused.reason, 'reused-pid');

	const zombie = judgeLock(parsed, facts({ 4242: { startTicks: 1000, state: 'Z' } }));
	assert.equal(zombie.state === 'stale' && zombie.reason, 'zombie');

	const rebooted = judgeLock(parsed, facts({ 4242: { startTicks: 1000 } }, 'n8n-1', 'boot-b'));
	assert.equal(rebooted.state === 'stale' && rebooted.reason, 'rebooted');
});

test('liveness: a job its supervisor gave up (survivors of SIGKILL) is held by its group alone, not by the living supervisor', () => {
	const abandoned = parsePidFile(serializeRecord({ ...record, abandonedAt: '2026-11-28T11:00:00.000Z' }));
	assert.equal(
		abandoned.kind === 'record' && abandoned.record.abandonedAt,
		'2026-11-28T11:00:00.000Z',
		'the mark survives serialize → parse',
	);
	const supervisorAlive = facts({ 4000: { startTicks: 900 } });
	assert.equal(
		judgeLock(parsePidFile(serializeRecord(record)), supervisorAlive).state,
		'held',
		'unmarked: the living supervisor holds it',
	);
	const groupGone = judgeLock(abandoned, { ...supervisorAlive, groupAlive: () => false });
	assert.equal(groupGone.state, 'stale');
	assert.match(groupGone.state === 'stale' ? groupGone.detail : '', /supervisor PID 4000 gave the job up/);
	const groupLeft = judgeLock(abandoned, { ...supervisorAlive, groupAlive: (pgid) => pgid === 4242 });
	assert.equal(groupLeft.state, 'held');
	assert.equal(groupLeft.state === 'held' && groupLeft.holder.pid, 4242, 'held by the surviving group');
});

test('liveness: a file without a lease from another machine is held (remote), whatever local PIDs say; legacy alive is held but unproven', () => {
	const parsed = parsePidFile(serializeRecord(record));
	const remote = judgeLock(parsed, facts({}, 'other-host', 'boot-other'));
	assert.equal(remote.state, 'held');
	assert.equal(remote.state === 'held' && remote.remote, true);

	const legacyAlive = judgeLock({ kind: 'legacy', pid: 10 }, facts({ 10: {} }));
	assert.equal(legacyAlive.state === 'held' && legacyAlive.holder.identityProven, false);
	const legacyDead = judgeLock({ kind: 'legacy', pid: 10 }, facts({}));
	assert.equal(legacyDead.state === 'stale' && legacyDead.reason, 'dead');
	const legacyZombie = judgeLock({ kind: 'legacy', pid: 10 }, facts({ 10: { state: 'Z' } }));
	assert.equal(legacyZombie.state === 'stale' && legacyZombie.reason, 'zombie');
	assert.equal(judgeLock({ kind: 'garbage', reason: 'x' }, facts({})).state, 'unreadable');
});

test('liveness with a lease: a holder in another PID namespace or on another machine is judged by its heartbeat, never while the kernel shows a lock on the database', () => {
	const leased: LockRecord = { ...record, heartbeatMs: 1000, staleAfterMs: 5000 };
	const parsed = parsePidFile(serializeRecord(leased));
	// Same kernel (boot id), other PID namespace: local PIDs mean nothing (4242 here may be anyone).
	const otherNamespace = (
		heartbeatAgeMs: number,
		databaseLocked = false,
		staleAfterMs = 1000,
	): ReturnType<typeof judgeLock> =>
		judgeLock(parsed, {
			...facts({ 4242: { startTicks: 1000 } }, 'worker-b'),
			pidNamespace: 'pid:[2]',
			heartbeatAgeMs,
			databaseLocked: () => databaseLocked,
			staleAfterMs,
		});
	const fresh = otherNamespace(800);
	assert.equal(fresh.state, 'held');
	assert.equal(fresh.state === 'held' && fresh.remote, true, 'not checked by local PID');
	assert.match(fresh.state === 'held' ? (fresh.holder.where ?? '') : '', /another PID namespace on this machine/);
	assert.equal(otherNamespace(4999).state, 'held', 'not before the stale period');
	const expired = otherNamespace(5001);
	assert.equal(expired.state === 'stale' && expired.reason, 'lease-expired');
	assert.match(
		expired.state === 'stale' ? expired.detail : '',
		/heartbeat of PID 4242 .* is 5s old \(stale after 5s\)/,
	);
	assert.equal(
		otherNamespace(600_000, true).state,
		'held',
		'a kernel lock on the database overrules any heartbeat age',
	);
	assert.equal(otherNamespace(5001, false, 2000).state, 'stale');
	assert.equal(otherNamespace(4000, false, 1000).state, 'held', "the holder's own, longer stale period is respected");
	const quick = parsePidFile(serializeRecord({ ...leased, staleAfterMs: 100 }));
	assert.equal(
		judgeLock(quick, { ...facts({}), pidNamespace: 'pid:[2]', heartbeatAgeMs: 2500, staleAfterMs: 100 }).state,
		'held',
		'never less than three heartbeats',
	);

	// Another machine (other boot id), even with the same host name: the lease decides, not an assumed reboot.
	const sameName = judgeLock(parsed, { ...facts({}, 'n8n-1', 'boot-other'), heartbeatAgeMs: 1000 });
	assert.equal(sameName.state, 'held');
	const gone = judgeLock(parsed, { ...facts({}, 'n8n-1', 'boot-other'), heartbeatAgeMs: 61_000 });
	assert.equal(gone.state === 'stale' && gone.reason, 'lease-expired', 'past our default stale period (60 s)');
	// Same kernel and namespace: local PID checks as always, whatever the heartbeat.
	assert.equal(judgeLock(parsed, { ...facts({}), pidNamespace: 'pid:[1]', heartbeatAgeMs: 0 }).state, 'stale');
});
