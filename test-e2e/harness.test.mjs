// The harness reads `n8n execute --rawOutput`; n8n logs other lines around the JSON in an order that varies by run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExecuteOutput } from '../scripts/e2e/harness.mjs';

const doc = JSON.stringify(
	{ data: { resultData: { runData: { A: [{ text: '{\n}' }] } } }, status: 'success' },
	null,
	2,
);
const runnerLine = 'Registered runner "JS Task Runner" (hurDSi-XwzpPtvayG86oM) ';

test('execute output: the JSON is found whether n8n logs before it, after it, or not at all', () => {
	for (const stdout of [
		`${doc}\n`,
		`${runnerLine}\n${doc}\n`,
		`${doc}\n${runnerLine}\n`,
		`${runnerLine}\n${doc}\n${runnerLine}\n\n`,
	]) {
		assert.deepEqual(parseExecuteOutput(stdout), JSON.parse(doc));
	}
});

test('execute output without a complete JSON document gives undefined', () => {
	assert.equal(parseExecuteOutput('Execution was NOT successful. See log message for details.\n'), undefined);
	assert.equal(parseExecuteOutput(doc.slice(0, -1)), undefined);
});
