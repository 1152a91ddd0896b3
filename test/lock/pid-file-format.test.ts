/** The PID-file format: one module knows it; records survive a round trip, odd files are legacy or garbage, values are bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
	boundValue,
	MAX_VALUE_BYTES,
	parsePidFile,
	serializeRecord,
	type LockRecord,
} from '../../lib/lock/pid-file-format';

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

test('a record survives serialize → parse, including newlines and backslashes in values', () => {
	const text = serializeRecord(record);
	assert.equal(text.split('\n')[0], '4242', 'line 1 is the PID a person would kill');
	assert.ok(!text.includes('\nfake=line'), 'a newline in the command cannot forge a field');
	const parsed = parsePidFile(text);
	assert.equal(parsed.kind, 'record');
	assert.deepEqual(parsed.kind === 'record' && parsed.record, record);
});

test('PID-only files (older wrappers) are legacy; garbage, empty and absurd PIDs are garbage', () => {
	assert.deepEqual(parsePidFile('1234\n'), { kind: 'legacy', pid: 1234 });
	assert.deepEqual(parsePidFile('  77  '), { kind: 'legacy', pid: 77 });
	assert.deepEqual(parsePidFile('99\nstarted 2024-01-01\n'), { kind: 'legacy', pid: 99 });
	for (const text of ['', '\n\n', 'hello', '-5', '0', '12abc', '99999999999', 'x\n1234']) {
		assert.equal(parsePidFile(text).kind, 'garbage', JSON.stringify(text));
	}
	const incomplete = serializeRecord(record).replace(/token=.*\n/, '');
	assert.equal(parsePidFile(incomplete).kind, 'garbage');
});

test('record values are bounded in bytes, cut on whole characters with a mark; short values are untouched', () => {
	assert.equal(boundValue('python3 ingest.py'), 'python3 ingest.py');
	for (const value of ['a'.repeat(10_000), '€'.repeat(5000), '\n'.repeat(5000), `${'x'.repeat(4094)}😀😀`]) {
		const bounded = boundValue(value);
		assert.ok(bounded.endsWith('…'));
		assert.ok(value.startsWith(bounded.slice(0, -1)), 'a prefix of the value');
		const line = serializeRecord({ ...record, command: value })
			.split('\n')
			.find((entry) => entry.startsWith('command='))!;
		assert.ok(Buffer.byteLength(line) <= MAX_VALUE_BYTES + 'command='.length, `${Buffer.byteLength(line)} bytes`);
	}
	const parsed = parsePidFile(
		serializeRecord({
			...record,
			command: '\\'.repeat(9000),
			owner: 'o'.repeat(9000),
			supervisor: { pid: 4000, command: 's'.repeat(9000) },
		}),
	);
	assert.equal(parsed.kind, 'record');
	assert.ok(parsed.kind === 'record' && /^\\+…$/.test(parsed.record.command), 'escapes are never cut in half');
});
