/**
 * One way to ask "is process N alive, and who is it?" on every OS: `/proc` on Linux, `ps-list` elsewhere.
 */
import { procAvailable, readProcess, type ProcessFacts } from './identity';

/** Facts about a process where /proc is absent: no start time, so its identity cannot be proven. */
export type LookedUpProcess =
	| ProcessFacts
	| (Omit<ProcessFacts, 'startTicks' | 'state' | 'pgid' | 'elapsedSeconds'> & {
			startTicks?: undefined;
			state: '?';
			pgid?: undefined;
			elapsedSeconds?: undefined;
	  });

function signalZeroSays(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		// EPERM: it exists but belongs to another user. ESRCH: no such process.
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

export async function lookupProcess(pid: number): Promise<LookedUpProcess | undefined> {
	if (procAvailable) return readProcess(pid);
	if (!Number.isSafeInteger(pid) || pid <= 0 || !signalZeroSays(pid)) return undefined;
	// ps-list is ESM-only; a dynamic import keeps this CommonJS build loadable everywhere.
	const { default: psList } = await import('ps-list');
	const entry = (await psList()).find((candidate) => candidate.pid === pid);
	return {
		pid,
		ppid: entry?.ppid ?? 0,
		name: entry?.name ?? '?',
		command: entry?.cmd ?? entry?.name ?? '?',
		uid: entry?.uid,
		state: '?',
	};
}
