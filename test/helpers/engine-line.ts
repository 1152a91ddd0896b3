/**
 * Which n8n engine line an engine test file (*.engine.test.ts) runs against in this process: ENGINE_LINE=v1 or v2
 * (default). scripts/run-tests.mjs runs every engine test file once per line. Imported first by those files: for v1
 * it makes `n8n-workflow` the one n8n-core 1.x uses before anything loads it.
 */
import type { EngineLine } from './engine';

export const LINE: EngineLine = process.env.ENGINE_LINE === 'v1' ? 'v1' : 'v2';

// eslint-disable-next-line @typescript-eslint/no-require-imports
if (LINE === 'v1') require('./engine-v1-alias');
