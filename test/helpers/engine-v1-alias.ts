/**
 * Loaded first by the n8n 1.x engine suite: makes every `require('n8n-workflow')` (our nodes' peer dependency)
 * resolve to the n8n-workflow that n8n-core 1.x itself uses, as a real n8n 1.x install does for community packages.
 */
import Module from 'node:module';
import { dirname } from 'node:path';

const coreDir = dirname(require.resolve('n8n-core-v1/package.json'));
const workflowV1 = require.resolve('n8n-workflow', { paths: [coreDir] });
type Resolve = (request: string, parent: unknown, isMain: boolean, options: unknown) => string;
const moduleWithResolver = Module as unknown as { _resolveFilename: Resolve };
const original = moduleWithResolver._resolveFilename;
moduleWithResolver._resolveFilename = function (request, parent, isMain, options) {
	if (request === 'n8n-workflow') return workflowV1;
	return original.call(this, request, parent, isMain, options);
};
export const ENGINE_V1_WORKFLOW_PATH = workflowV1;
