/** What a supervised run tells its caller as it goes (the CLI prints it), and the hooks it calls. */
import type { Writable } from 'node:stream';
import type { HookReport, RecoveredLockReport } from '../outcome/outcome';
import type { Termination } from '../proc/stop';
import type { OutputOptions, StreamName } from './output';

export type RunEvent =
	| { type: 'lock-check'; pidFile: string }
	| { type: 'lock-acquired'; pidFile: string; recovered: RecoveredLockReport[]; waitedMs: number }
	| { type: 'job-started'; pid: number; command: string[] }
	| { type: 'job-stopping'; reason: Termination['reason'] }
	| { type: 'job-finished'; exitCode: number | null; signal: string | null; durationMs: number }
	| { type: 'hook'; report: HookReport }
	| { type: 'lock-released'; pidFile: string; released: boolean; note?: string };

export interface RunHooks {
	onEvent?: (event: RunEvent) => void;
	onLine?: OutputOptions['onLine'];
	/** Live copies of the job's streams (the CLI's terminal). */
	echo?: Partial<Record<StreamName, Writable>>;
}
