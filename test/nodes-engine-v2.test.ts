/** The nodes inside n8n 2.x's execution engine (n8n-core 2.41). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineNodeSuite } from './helpers/node-suite';
import { listedFolders } from '../nodes/shared/glue';

defineNodeSuite('v2');

test('[v2] N8N_RESTRICT_FILE_ACCESS_TO is read as n8n reads it: `;`-separated, trimmed, `~` is the home folder', () => {
	assert.deepEqual(listedFolders(' ~/.n8n-files ; /data/binance ;; ', '/home/node'), ['/home/node/.n8n-files', '/data/binance']);
	assert.deepEqual(listedFolders('', '/home/node'), []);
});
