// Workflows of the server and queue-mode e2e suites, created through n8n's REST API: a trigger (Webhook or Schedule),
// DuckDB Safe Ingest running scripts/e2e/hold-job.mjs, and one HTTP Request per output that reports the outcome to the
// local sink (the stand-in for Discord) with the execution's id. And a Lock Cleanup workflow (Stop Stuck Jobs).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

export const INGEST = 'DuckDB Safe Ingest';
export const CLEANUP = 'DuckDB Lock Cleanup';
const HOLD_JOB = join(ROOT, 'scripts', 'e2e', 'hold-job.mjs');

function webhookTrigger(path) {
	return {
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
	};
}

function scheduleTrigger(seconds) {
	return {
		name: 'Schedule',
		type: 'n8n-nodes-base.scheduleTrigger',
		typeVersion: 1.2,
		position: [0, 0],
		parameters: { rule: { interval: [{ field: 'seconds', secondsInterval: seconds }] } },
	};
}

/** An HTTP Request that posts `{ kind, workflow, execution, output, record }` to the sink. */
function report(name, sinkUrl, kind, output, index) {
	return {
		name,
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		position: [600, index * 200],
		parameters: {
			method: 'POST',
			url: `${sinkUrl}/${kind}`,
			sendBody: true,
			specifyBody: 'json',
			jsonBody: `={{ JSON.stringify({ kind: '${kind}', workflow: $workflow.name, execution: $execution.id, output: '${output}', record: $json }) }}`,
			options: {},
		},
	};
}

function outputsTo(nodeName, names, sinkUrl, kind) {
	const nodes = names.map((output, index) => report(`Report ${output}`, sinkUrl, kind, output, index));
	const connections = {
		[nodeName]: { main: nodes.map((node) => [{ node: node.name, type: 'main', index: 0 }]) },
	};
	return { nodes, connections };
}

function lockOptions({ backend, redisCredential, staleAfterSeconds }) {
	const options = staleAfterSeconds ? { staleAfterSeconds } : {};
	const credentials =
		backend === 'redis' ? { duckDbLockRedisApi: { id: redisCredential.id, name: redisCredential.name } } : undefined;
	return { lockBackend: backend ?? 'file', options, credentials };
}

/**
 * Webhook (or Schedule every `scheduleSeconds`) → DuckDB Safe Ingest (hold-job.mjs for `ms`, or the webhook body's
 * `ms`) → report per output.
 * `backend: 'redis'` uses the Redis lock with `redisCredential`.
 */
export function holdWorkflow({
	name,
	path,
	scheduleSeconds,
	db,
	log,
	pkgDir,
	sinkUrl,
	ms,
	ignoreTerm = false,
	waitSeconds = 0,
	timeoutMinutes = 5,
	graceSeconds = 2,
	...lock
}) {
	const trigger = scheduleSeconds ? scheduleTrigger(scheduleSeconds) : webhookTrigger(path);
	const { lockBackend, options, credentials } = lockOptions(lock);
	const args = [HOLD_JOB, '--pkg', pkgDir, '--db', db, '--log', log];
	const ingest = {
		name: INGEST,
		type: 'n8n-nodes-duckdb-safe-ingest.duckDbSafeIngest',
		typeVersion: 1,
		position: [300, 0],
		parameters: {
			databasePath: db,
			operation: 'runCommand',
			command: 'node',
			arguments: {
				argument: [
					...args.map((value) => ({ value })),
					// A webhook call may say how long this run's job holds the database: { "ms": 600000 }.
					{ value: '--ms' },
					{ value: `={{ String($json.body?.ms ?? ${Number(ms)}) }}` },
					{ value: '--execution' },
					{ value: '={{ $execution.id }}' },
					...(ignoreTerm ? [{ value: '--ignore-term' }] : []),
				],
			},
			timeoutMinutes,
			graceSeconds,
			waitSeconds,
			lockBackend,
			options,
		},
		...(credentials ? { credentials } : {}),
	};
	const reports = outputsTo(INGEST, ['Success', 'Blocked', 'Timeout', 'Failed'], sinkUrl, 'ingest');
	return {
		name,
		nodes: [trigger, ingest, ...reports.nodes],
		connections: { [trigger.name]: { main: [[{ node: INGEST, type: 'main', index: 0 }]] }, ...reports.connections },
		settings: { executionOrder: 'v1' },
	};
}

/** Webhook → DuckDB Lock Cleanup (Stop Stuck Jobs running longer than 0 min, WAL recovery, grace 2 s) → report per output. */
export function cleanupWorkflow({ name, path, db, sinkUrl, ...lock }) {
	const trigger = webhookTrigger(path);
	const { lockBackend, options, credentials } = lockOptions(lock);
	const cleanup = {
		name: CLEANUP,
		type: 'n8n-nodes-duckdb-safe-ingest.duckDbLockCleanup',
		typeVersion: 1,
		position: [300, 0],
		parameters: {
			databasePath: db,
			action: 'stopStuck',
			stuckAfterMinutes: 0,
			recoverWal: true,
			graceSeconds: 2,
			lockBackend,
			options,
		},
		...(credentials ? { credentials } : {}),
	};
	const reports = outputsTo(CLEANUP, ['Clean', 'Recovered', 'Held'], sinkUrl, 'cleanup');
	return {
		name,
		nodes: [trigger, cleanup, ...reports.nodes],
		connections: { [trigger.name]: { main: [[{ node: CLEANUP, type: 'main', index: 0 }]] }, ...reports.connections },
		settings: { executionOrder: 'v1' },
	};
}

/**
 * Publishes a hold workflow named `name` on its own database and job log in `place.dataDir` (its webhook path is its
 * name): returns { id, name, path, db, log }. `options` go to holdWorkflow.
 */
export async function publishHold(rest, place, name, options = {}) {
	const db = join(place.dataDir, `${name}.duckdb`);
	const log = join(place.dataDir, `${name}.jobs.log`);
	const workflow = holdWorkflow({
		name,
		path: name,
		db,
		log,
		pkgDir: place.pkgDir,
		sinkUrl: place.sinkUrl,
		...options,
	});
	return { id: await rest.publish(workflow), name, path: name, db, log };
}
