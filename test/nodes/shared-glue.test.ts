/** The nodes' n8n glue that needs no engine: the instance's allowed folders read as n8n reads them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listedFolders } from '../../nodes/shared/glue';

test('N8N_RESTRICT_FILE_ACCESS_TO is read as n8n reads it: `;`-separated, trimmed, `~` is the home folder', () => {
	assert.deepEqual(listedFolders(' ~/.n8n-files ; /data/binance ;; ', '/home/node'), [
		'/home/node/.n8n-files',
		'/data/binance',
	]);
	assert.deepEqual(listedFolders('', '/home/node'), []);
});
