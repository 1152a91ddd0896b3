/** The nodes inside n8n 1.x's execution engine (n8n-core 1.122, used by the last 1.x release, n8n 1.123). */
// Must come first: makes the nodes' `n8n-workflow` the one n8n-core 1.x uses, as in a real n8n 1.x install.
import { ENGINE_V1_WORKFLOW_PATH } from './helpers/engine-v1-alias';
import { defineNodeSuite } from './helpers/node-suite';
import { test } from 'node:test';
import assert from 'node:assert/strict';

defineNodeSuite('v1');

test('[v1] the nodes really run against n8n-workflow 1.x', () => {
	assert.equal(require.resolve('n8n-workflow'), ENGINE_V1_WORKFLOW_PATH);
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { version } = require(ENGINE_V1_WORKFLOW_PATH.replace(/dist\/.*$/, 'package.json')) as { version: string };
	assert.match(version, /^1\./);
});
