/** The status tables, exhaustively: a run's status to exit code and node output, a cleanup's state, the final status. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	CLEANUP_OUTPUT_NAMES,
	CLEANUP_STATES,
	decideRunStatus,
	exitCodeFor,
	OUTPUT_NAMES,
	outputIndexFor,
} from '../../lib/outcome/status';
import type { Outcome } from '../../lib/outcome/outcome';

const run = (
	fields: Partial<Pick<Outcome, 'status' | 'exitCode' | 'signal' | 'holder'>>,
): Pick<Outcome, 'status' | 'exitCode' | 'signal' | 'holder'> => ({
	status: 'failed',
	exitCode: null,
	signal: null,
	...fields,
});

test("exit codes, GNU timeout compatible: 0, the conflict code (125 for an unreadable lock), 124, 128+N, the job's own", () => {
	assert.equal(exitCodeFor(run({ status: 'success', exitCode: 0 })), 0);
	assert.equal(exitCodeFor(run({ status: 'blocked' })), 1);
	assert.equal(exitCodeFor(run({ status: 'blocked' }), 75), 75, '--conflict-exit-code');
	assert.equal(exitCodeFor(run({ status: 'blocked', holder: { unreadable: true } as Outcome['holder'] })), 125);
	assert.equal(exitCodeFor(run({ status: 'timeout', signal: 'SIGTERM' })), 124);
	assert.equal(exitCodeFor(run({ status: 'canceled' })), 143, 'a cancel without a signal counts as SIGTERM');
	assert.equal(exitCodeFor(run({ status: 'canceled' }), 1, 'SIGINT'), 130);
	assert.equal(exitCodeFor(run({ status: 'canceled' }), 1, 'SIGHUP'), 129);
	assert.equal(exitCodeFor(run({ exitCode: 3 })), 3);
	assert.equal(exitCodeFor(run({ exitCode: 127 })), 127);
	assert.equal(exitCodeFor(run({ signal: 'SIGKILL' })), 137);
	assert.equal(exitCodeFor(run({ exitCode: 0 })), 1, 'failed with status 0 (a lost lock) is still a failure');
	assert.equal(exitCodeFor(run({})), 1);
});

test('every status has its output, named in order; canceled has none (the execution ends instead)', () => {
	assert.deepEqual(OUTPUT_NAMES, ['Success', 'Blocked', 'Timeout', 'Failed']);
	assert.deepEqual((['success', 'blocked', 'timeout', 'failed', 'canceled'] as const).map(outputIndexFor), [
		0,
		1,
		2,
		3,
		undefined,
	]);
});

test('cleanup states: Clean and Recovered exit 0, Held 1; each has its output', () => {
	assert.deepEqual(CLEANUP_OUTPUT_NAMES, ['Clean', 'Recovered', 'Held']);
	assert.deepEqual(CLEANUP_STATES, {
		clean: { exitCode: 0, output: 0 },
		recovered: { exitCode: 0, output: 1 },
		held: { exitCode: 1, output: 2 },
	});
});

test('the final status of a run whose job started: a lost lock fails, then our stop decides, then the exit code', () => {
	assert.equal(decideRunStatus({ exitCode: 0 }), 'success');
	assert.equal(decideRunStatus({ exitCode: 2 }), 'failed');
	assert.equal(decideRunStatus({ exitCode: null }), 'failed', 'killed by a signal we did not send');
	assert.equal(
		decideRunStatus({ exitCode: 0, stoppedBy: 'timeout' }),
		'timeout',
		'a job that exits 0 on SIGTERM still timed out',
	);
	assert.equal(decideRunStatus({ exitCode: null, stoppedBy: 'canceled' }), 'canceled');
	assert.equal(decideRunStatus({ exitCode: null, stoppedBy: 'supervisor-signal' }), 'canceled');
	assert.equal(
		decideRunStatus({ exitCode: 0, stoppedBy: 'stray-processes' }),
		'success',
		'stray children stopped after a clean exit',
	);
	assert.equal(decideRunStatus({ exitCode: 0, stoppedBy: 'lock-lost', lockLost: 'the lock was lost' }), 'failed');
	assert.equal(
		decideRunStatus({ exitCode: null, stoppedBy: 'timeout', lockLost: 'lost' }),
		'failed',
		'a lost lock wins',
	);
});
