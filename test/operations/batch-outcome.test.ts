/** The decisions of a batch's outcomes (pure functions) and the results file that carries the worker's reports. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { itemOutcome, itemStatus, itemTag, itemTail, type WorkerReport } from '../../lib/operations/batch-outcome';
import { readResults, ResultsWriter } from '../../lib/operations/batch-results';
import type { Outcome } from '../../lib/outcome/outcome';
import { tempDir } from '../helpers/processes';

const done = (extra: Partial<WorkerReport> = {}): WorkerReport =>
	({ statements: 1, statementsRun: 1, rowsChanged: 1, committed: true, ...extra }) as WorkerReport;

test("an item's status: its own result when the worker finished it, the run's when it did not", () => {
	assert.equal(itemStatus('failed', done()), 'success', 'another item failed the run');
	assert.equal(itemStatus('success', done({ error: 'Constraint Error' })), 'failed');
	assert.equal(itemStatus('timeout', undefined), 'timeout', 'not reached');
	assert.equal(itemStatus('timeout', done({ stopped: true, committed: false })), 'timeout', 'stopped halfway');
	assert.equal(itemStatus('canceled', undefined), 'canceled');
	assert.equal(itemStatus('blocked', done()), 'blocked');
	assert.equal(itemStatus('success', undefined), 'failed', 'a success without a report is not a success');
	assert.equal(itemStatus('failed', { error: 'cannot open', phase: 'open' } as WorkerReport), 'failed');
	const failedFile = { files: { matched: 2, ingested: 1, skipped: 0, failed: 1, notAttempted: 0 } };
	assert.equal(itemStatus('failed', failedFile as WorkerReport), 'failed');
});

test("an item's tails keep its own lines and the batch's untagged ones", () => {
	const tail = [
		`${itemTag(1)} statement 1/1 done`,
		`${itemTag(2)} statement 1/2 done`,
		'received SIGTERM: interrupting the query and rolling back',
		`${itemTag(12)} statement 1/1 done`,
	].join('\n');
	const mine = itemTail({ tail, bytes: 500, truncated: false }, 1);
	assert.equal(mine.tail, 'statement 1/1 done\nreceived SIGTERM: interrupting the query and rolling back');
	assert.equal(mine.bytes, 500);
	assert.equal(itemTail({ tail, bytes: 1, truncated: true }, 2).tail.split('\n')[0], 'statement 1/2 done');
});

test("an item's tails, read from one split of the batch's tail, are the lines a filter of the whole tail keeps", () => {
	// The plain reading: an item keeps its own tagged lines (tag cut) and every line that looks like no tag at all.
	const byFilter = (tail: string, position: number): string => {
		const own = `${itemTag(position)} `;
		return tail
			.split('\n')
			.filter((line) => line.startsWith(own) || !line.startsWith('[item '))
			.map((line) => (line.startsWith(own) ? line.slice(own.length) : line))
			.join('\n');
	};
	const kinds = [
		(n: number) => `${itemTag(1 + (n % 13))} line ${n}`,
		(n: number) => `untagged ${n}`,
		(n: number) => `[item x] not a tag ${n}`,
		(n: number) => `[item 0${1 + (n % 9)}] zero-padded, no tag ${n}`,
		(n: number) => `${itemTag(1 + (n % 13))}`,
		() => '',
	];
	let seed = 7;
	const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
	for (let round = 0; round < 200; round++) {
		const tail = Array.from({ length: next() % 40 }, (_, n) => kinds[next() % kinds.length](n)).join('\n');
		const stream = { tail, bytes: tail.length, truncated: false };
		for (let position = 1; position <= 14; position++)
			assert.equal(itemTail(stream, position).tail, byFilter(tail, position), `round ${round}, item ${position}`);
	}
});

test('an item of a run that timed out before reaching it says it was not run; a finished one has exit code 0', () => {
	const run = {
		status: 'timeout',
		summary: 'Timeout: the worker ran past 3s',
		exitCode: null,
		output: { stdout: { tail: '', bytes: 0, truncated: false }, stderr: { tail: '', bytes: 0, truncated: false } },
	} as unknown as Outcome;
	const attach = (outcome: Outcome, report: WorkerReport | undefined): Outcome =>
		report ? { ...outcome, sql: report } : outcome;
	const finished = itemOutcome(run, { report: done(), started: true }, { position: 1, items: 3 }, attach);
	assert.equal(finished.status, 'success');
	assert.equal(finished.exitCode, 0);
	assert.deepEqual(finished.batch, { position: 1, items: 3 });
	const notRun = itemOutcome(run, { started: false }, { position: 3, items: 3 }, attach);
	assert.equal(notRun.status, 'timeout');
	assert.match(notRun.error ?? '', /^item 3 of 3 was not run: Timeout: the worker ran past 3s/);
	assert.equal(notRun.sql, undefined);
	// SIGKILLed while it ran: an Ingest Files item may have committed files before; it is not "not run".
	const halfway = itemOutcome(run, { started: true }, { position: 2, items: 3 }, attach);
	assert.equal(halfway.status, 'timeout');
	assert.match(halfway.error ?? '', /^item 2 of 3 was stopped while it ran \(what it had committed stays\)/);
});

test("the results file: each task's last report; a torn last line (SIGKILL while writing) is no report", () => {
	const dir = tempDir();
	try {
		const path = join(dir.path, 'results.jsonl');
		assert.deepEqual(readResults(path, 2), [{ started: false }, { started: false }], 'no file: nothing ran');
		const writer = new ResultsWriter(path);
		writer.started(0);
		writer.save(0, { statements: 1, error: 'first try' });
		writer.save(0, { statements: 1 });
		writer.save(7, { statements: 1 });
		writer.started(1);
		writer.close();
		appendFileSync(path, '{"task":1,"report":{"statem');
		const [first, second] = readResults(path, 2);
		assert.deepEqual(first, { report: { statements: 1 }, started: true });
		assert.deepEqual(second, { started: true }, 'its start line is whole, its report torn');
	} finally {
		dir.remove();
	}
});
