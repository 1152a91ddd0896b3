/**
 * Last line of defence: if the supervising process exits while jobs run (n8n shutting down, process.exit in a CLI
 * path we did not foresee), kill their groups and release their locks synchronously in the `exit` hook, so no job
 * is left writing to a database whose lock is gone or held by a dead supervisor. A lock recording an owed After
 * hook is left in place (stale once this process is gone), so that the After is still done.
 */
import { signalGroup, type GroupIdentity } from '../proc/group';
import { type DatabaseLock } from '../lock/database-lock';

interface ActiveRun {
	group?: GroupIdentity;
	lock: DatabaseLock;
}

const active = new Set<ActiveRun>();
let installed = false;

function onExit(): void {
	for (const run of active) {
		if (run.group) signalGroup(run.group, 'SIGKILL');
		// A run that owes its After hook leaves its file: stale once we are gone, so whoever clears it does the After.
		if (!run.lock.owedAfter) run.lock.releaseSync();
	}
	active.clear();
}

export function trackRun(run: ActiveRun): () => void {
	if (!installed) {
		process.on('exit', onExit);
		installed = true;
	}
	active.add(run);
	return () => active.delete(run);
}
