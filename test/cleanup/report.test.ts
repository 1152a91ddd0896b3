/** The cleanup's pure verdicts: Held whenever a run could not start, Recovered when something was done, else Clean. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupState, remainingLines } from '../../lib/cleanup/report';
import type { Inspection } from '../../lib/cleanup/inspect';
import type { CleanupAction } from '../../lib/outcome/cleanup-report';

const wal = { present: false, files: [], totalBytes: 0, status: 'none' as const };
const none: Inspection = { pidFile: { pidFile: '/d/x.duckdb.pid', state: 'none' }, judge: {}, holders: [], wal };
const done: CleanupAction[] = [
	{ action: 'remove-stale-pid-file', target: '/d/x.duckdb.pid', done: true, detail: 'gone' },
];
const stale: Inspection = {
	...none,
	pidFile: { pidFile: '/d/x.duckdb.pid', state: 'stale', reason: 'dead', detail: 'job PID 5 no longer exists' },
};
const reader = {
	pid: 7,
	command: 'python3 api.py',
	lock: 'read' as const,
	ours: false,
	source: 'duckdb-file-lock' as const,
};

test('Clean when nothing holds it and nothing was done; Recovered when something was done and nothing holds it', () => {
	assert.equal(cleanupState(none, false, []), 'clean');
	assert.equal(cleanupState(none, false, done), 'recovered');
	assert.equal(cleanupState(none, false, [{ ...done[0], done: false }]), 'clean');
});

test('Held for a held or unreadable PID file, a stale one behind a recovery claim, a DuckDB holder, a Redis lock held or unreachable', () => {
	const held: Inspection[] = [
		{ ...none, pidFile: { pidFile: '/d/x.duckdb.pid', state: 'unreadable', reason: 'garbage' } },
		{ ...none, holders: [reader] },
		{ ...none, redis: { key: 'k', state: 'unreachable', error: 'ECONNREFUSED' } },
		{ ...none, redis: { key: 'k', state: 'held' } },
	];
	for (const found of held) assert.equal(cleanupState(found, false, done), 'held', JSON.stringify(found));
	assert.equal(cleanupState(stale, true, []), 'held', 'a stale PID file behind a claim blocks every run');
	assert.equal(cleanupState(stale, false, []), 'clean', 'a stale PID file alone does not: the next run recovers it');
	assert.equal(
		cleanupState({ ...none, holders: [{ ...reader, lock: 'open' }] }, false, []),
		'clean',
		'an open file without a lock does not stop a writer',
	);
});

test('the remaining lines name each obstacle in words, holders in the one holder wording', () => {
	assert.deepEqual(remainingLines('/d/x.duckdb', { ...none, holders: [reader] }, false), [
		'PID 7 (python3 api.py, reading (read-only)) holds the database',
	]);
	assert.match(
		remainingLines('/d/x.duckdb', stale, true)[0],
		/^x\.duckdb\.pid is stale \(job PID 5 no longer exists\) but the recovery claim \/d\/x\.duckdb\.pid\.recover blocks its removal/,
	);
	assert.match(
		remainingLines(
			'/d/x.duckdb',
			{ ...none, wal: { ...wal, present: true, totalBytes: 42, status: 'left-by-crash' } },
			false,
		)[0],
		/a WAL left by a crash \(42 bytes\) .* never delete it/,
	);
});
