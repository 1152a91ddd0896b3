/**
 * Attack suite, through the DuckDB Safe Ingest node in n8n 2.x's real execution engine: what a workflow editor can
 * reach with Run SQL and Ingest Files when the instance's allowed folders (N8N_RESTRICT_FILE_ACCESS_TO) hold n8n's
 * own folder, and a glob that climbs out of an allowed folder.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attackBench, describeRun } from '../helpers/attack';
import { stopAll } from '../helpers/processes';
import { writeAggTrades } from '../helpers/aggtrades';

const bench = attackBench();
afterEach(() => stopAll());
after(() => bench.remove());
const MARKER = 'node-level-encryption-key-93b1';

/** A home folder inside the instance's allowed folder, with n8n's folder in it, as when the admin allows ~. */
function n8nHome(): { home: string; config: string } {
	const home = bench.folder('home');
	mkdirSync(join(home, '.n8n'));
	const config = join(home, '.n8n', 'config');
	writeFileSync(config, JSON.stringify({ encryptionKey: MARKER }));
	return { home, config };
}

test("finding 1 (node): Run SQL cannot read n8n's config when the instance's allowed folders hold n8n's folder", async () => {
	const { home, config } = n8nHome();
	const run = await bench.run(
		{ process: { N8N_USER_FOLDER: home } },
		{ parameters: { operation: 'runSql', sql: `SELECT content FROM read_text('${config}')`, returnRows: true } },
	);
	assert.doesNotMatch(JSON.stringify(run.raw), new RegExp(MARKER), describeRun(run));
	assert.equal(run.outputs('Ingest')[3]?.length, 1, `Failed output: ${describeRun(run)}`);
});

test("finding 1 (node): Ingest Files cannot load n8n's config through a wildcard in the folder name", async () => {
	const { home } = n8nHome();
	const run = await bench.run(
		{ process: { N8N_USER_FOLDER: home } },
		{
			parameters: {
				operation: 'ingestFiles',
				sources: { source: [{ path: join(home, '.n8[n]', 'config') }] },
				table: 'stolen',
				fileOptions: { format: 'json' },
			},
		},
	);
	assert.doesNotMatch(JSON.stringify(run.raw), new RegExp(MARKER), describeRun(run));
	assert.equal(run.outputs('Ingest')[3]?.length, 1, `Failed output: ${describeRun(run)}`);
});

test('held (node): a source glob that climbs out of the allowed folder with .. after a wildcard is refused before anything runs', async () => {
	const inside = bench.folder('inside');
	mkdirSync(join(inside, 'x1'));
	const outside = join(bench.root, '..', `outside-${Date.now()}`);
	mkdirSync(outside);
	await writeAggTrades(join(outside, 'a.csv'), { rows: 3 });
	const climbing = `${inside}/x*/${'../'.repeat(inside.split('/').length + 1)}${outside.slice(1)}/*.csv`;
	const run = await bench
		.run({}, { parameters: { operation: 'ingestFiles', sources: { source: [{ path: climbing }] }, table: 'stolen' } })
		.finally(() => rmSync(outside, { recursive: true, force: true }));
	assert.equal(run.status, 'error', describeRun(run));
	assert.match(run.error?.message ?? '', /is not allowed on this n8n instance/);
});
