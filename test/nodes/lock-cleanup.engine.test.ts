/** DuckDB Lock Cleanup executed by n8n's real WorkflowExecute on real situations; run once per engine line. */
// Must come first: for the 1.x line it makes the nodes' `n8n-workflow` the one n8n-core 1.x uses.
import '../helpers/engine-line';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDataObject } from 'n8n-workflow';
import { DuckDBInstance } from '@duckdb/node-api';
import { serializeRecord } from '../../lib/lock/pid-file-format';
import { bootId, hostName } from '../../lib/proc/identity';
import type { WorkflowNode } from '../helpers/engine';
import { nodeBench } from '../helpers/node-bench';
import { CLEANUP, connect, json } from '../helpers/workflow';
import { nodeChild } from '../helpers/processes';

const { line, engine, root, freshDb } = nodeBench('lock-cleanup');

test(`[${line}] Lock Cleanup routes Clean, Recovered and Held on real situations`, async () => {
	const cleanupNode = (databasePath: string, action = 'removeStale'): WorkflowNode => ({
		name: 'Cleanup',
		type: CLEANUP,
		parameters: { databasePath, action, recoverWal: false },
	});
	const cleanDb = freshDb();
	(await DuckDBInstance.create(cleanDb)).closeSync();
	const clean = await engine.run({ nodes: [cleanupNode(cleanDb)], connections: connect('Start', 'Cleanup') });
	assert.equal(json(clean.outputs('Cleanup')[0])[0]?.state, 'clean', clean.error?.message);
	const typo = await engine.run({
		nodes: [cleanupNode(join(root, 'typo.duckdb'))],
		connections: connect('Start', 'Cleanup'),
	});
	assert.equal(typo.status, 'error');
	assert.match(typo.error?.message ?? '', /There is no database .*typo\.duckdb/);

	const staleDb = freshDb();
	writeFileSync(
		`${staleDb}.pid`,
		serializeRecord({
			pid: 4_194_000,
			role: 'job',
			pidStart: 1,
			command: 'python3 crashed.py',
			host: hostName(),
			bootId: bootId(),
			pidNamespace: '',
			lockedAt: new Date(0).toISOString(),
			owner: 'crashed',
			supervisor: { pid: 4_194_001, startTicks: 1, command: 'n8n' },
			token: 'x',
		}),
	);
	const recovered = await engine.run({ nodes: [cleanupNode(staleDb)], connections: connect('Start', 'Cleanup') });
	const report = json(recovered.outputs('Cleanup')[1])[0];
	assert.equal(report?.state, 'recovered');
	assert.match(String(report?.summary), /^Recovered: .*PID 4194000/);
	assert.equal(existsSync(`${staleDb}.pid`), false);

	const heldDb = freshDb();
	const holder = nodeChild('lock-actor');
	await holder.next('ready');
	holder.send({ cmd: 'acquire', db: heldDb });
	await holder.next('acquire');
	const held = await engine.run({ nodes: [cleanupNode(heldDb, 'inspect')], connections: connect('Start', 'Cleanup') });
	const heldReport = json(held.outputs('Cleanup')[2])[0];
	assert.equal(heldReport?.state, 'held');
	assert.equal(((heldReport?.pidFile as IDataObject).holder as IDataObject).pid, holder.pid);
	holder.send({ cmd: 'release' });
	await holder.next('release');
});
