/** Where things are, from the compiled tests (dist/test/...): the compiled package, and the repository itself. */
import { join } from 'node:path';

/** dist/: the compiled package (bin/, lib/, nodes/, test/). */
export const DIST = join(__dirname, '..', '..');
/** The repository: package.json, scripts/, node_modules/. */
export const REPO = join(DIST, '..');
