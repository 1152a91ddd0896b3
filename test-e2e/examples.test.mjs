// Static checks of the shipped example workflows (fast; no n8n needed).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../scripts/e2e/harness.mjs';

const load = (f) => JSON.parse(readFileSync(join(ROOT, 'examples', f), 'utf8'));
const targets = (wf, from, index) => (wf.connections[from]?.main?.[index] ?? []).map((c) => c.node);
const byType = (wf, type) => wf.nodes.filter((n) => n.type === type);

test('binance-history-ingest: production shape', () => {
	const wf = load('binance-history-ingest.workflow.json');
	assert.ok(wf.id, 'workflow id (needed by n8n import:workflow)');
	assert.equal(byType(wf, 'n8n-nodes-base.scheduleTrigger').length, 1);
	assert.equal(byType(wf, 'n8n-nodes-base.manualTrigger').length, 1);
	const [ingest] = byType(wf, 'n8n-nodes-duckdb-safe-ingest.duckDbSafeIngest');
	assert.ok(ingest);
	assert.equal(ingest.parameters.command, 'python3');
	const argv = ingest.parameters.arguments.argument.map((a) => a.value);
	assert.match(argv[0], /ingest_binance\.py$/);
	for (const flag of ['--symbol', '--data-dir', '--db', '--mode', '--start-date', '--end-date', '--throttle-ms']) {
		const i = argv.indexOf(flag);
		assert.ok(i > 0, `${flag} is its own argv element`);
		assert.match(argv[i + 1], /^=\{\{.*\}\}$/, `${flag} value is an expression`);
	}
	assert.ok(
		wf.settings.executionTimeout > ingest.parameters.timeoutMinutes * 60,
		'workflow executionTimeout above node timeout',
	);
	const discords = byType(wf, 'n8n-nodes-base.discord');
	for (const d of discords) {
		assert.equal(d.parameters.authentication, 'webhook');
		assert.ok(d.credentials.discordWebhookApi);
		assert.match(d.parameters.content, /\$json\.summary/);
		assert.ok(d.parameters.content.length < 1000, "template leaves room under Discord's 2000-character limit");
	}
	for (let out = 0; out < 4; out++) {
		const t = targets(wf, ingest.name, out);
		assert.ok(
			t.some((n) => wf.nodes.find((x) => x.name === n).type === 'n8n-nodes-base.discord'),
			`output ${out} -> Discord`,
		);
	}
	const [cleanup] = byType(wf, 'n8n-nodes-duckdb-safe-ingest.duckDbLockCleanup');
	assert.deepEqual(targets(wf, ingest.name, 1).sort(), ['Discord: Blocked', cleanup.name].sort());
	assert.equal(cleanup.parameters.action, 'stopStuck');
	// The handshake with the API that shares the database: let go before, come back after (also for an owed After).
	assert.deepEqual(
		[ingest.parameters.beforeRun, ingest.parameters.afterRun, cleanup.parameters.afterRun],
		['request', 'request', 'request'],
	);
	assert.match(ingest.parameters.beforeUrl, /\/prepare-for-ingestion$/);
	assert.equal(ingest.parameters.afterUrl, cleanup.parameters.afterUrl);
	assert.ok(ingest.parameters.waitSeconds > 0, 'the wait covers readers that take a moment to let go');
	assert.equal(cleanup.parameters.stuckAfterMinutes, 180);
	for (let out = 0; out < 3; out++) assert.ok(targets(wf, cleanup.name, out).length, `cleanup output ${out} wired`);
});

test('demo workflows: Scenario Set node drives the ingest node', () => {
	const wf = load('demo.workflow.json');
	const set = wf.nodes.find((n) => n.name === 'Scenario');
	const fields = set.parameters.assignments.assignments.map((a) => a.name);
	for (const f of ['dbPath', 'script', 'dataDir', 'throttleMs', 'flag', 'timeoutMinutes'])
		assert.ok(fields.includes(f), f);
	const ingest = wf.nodes.find((n) => n.type === 'n8n-nodes-duckdb-safe-ingest.duckDbSafeIngest');
	assert.equal(ingest.parameters.command, 'node');
	assert.equal(wf.connections[ingest.name].main.length, 4);
	const cleanup = load('demo-cleanup.workflow.json');
	const node = cleanup.nodes.find((n) => n.type === 'n8n-nodes-duckdb-safe-ingest.duckDbLockCleanup');
	assert.equal(cleanup.connections[node.name].main.length, 3);
	assert.notEqual(wf.id, cleanup.id);
});

test('ingest-files: the built-in operation wired to four Discord messages', () => {
	const wf = load('ingest-files.workflow.json');
	const ingest = wf.nodes.find((n) => n.name === 'DuckDB Safe Ingest');
	assert.equal(ingest.parameters.operation, 'ingestFiles');
	assert.equal(ingest.parameters.writeMode, 'insertOrIgnore');
	assert.equal(ingest.parameters.primaryKey, 'agg_trade_id');
	assert.equal(wf.connections['DuckDB Safe Ingest'].main.length, 4);
	assert.ok(wf.settings.executionTimeout * 1000 > 30 * 60_000, 'the workflow timeout is above the node timeout');
});

test('insert-rows: a Code node standing in for the API feeds Insert Rows (insert or ignore on the trade id)', () => {
	const wf = load('insert-rows.workflow.json');
	const ingest = wf.nodes.find((n) => n.name === 'DuckDB Safe Ingest');
	assert.equal(ingest.parameters.operation, 'insertRows');
	assert.equal(ingest.parameters.insertMode, 'insertOrIgnore');
	assert.equal(ingest.parameters.insertPrimaryKey, 'a');
	assert.equal(wf.connections['Fetch aggTrades'].main[0][0].node, 'DuckDB Safe Ingest');
});
