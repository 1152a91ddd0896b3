/**
 * The status tables, in one place: a run's status → the CLI's exit code (GNU timeout compatible) and the node's
 * output; a cleanup's state → its exit code and output. The final status of a run is decided here too, by one pure
 * function over what happened.
 */
import { constants } from 'node:os';
import { EXIT_CODES, type Outcome, type OutcomeStatus } from './outcome';
import type { Termination } from '../proc/stop';

/** The DuckDB Safe Ingest node's outputs, in order. `canceled` has none: a canceled execution ends the node instead. */
export const OUTPUT_NAMES = ['Success', 'Blocked', 'Timeout', 'Failed'] as const;

const RUN_OUTPUT: Record<OutcomeStatus, number | undefined> = {
	success: 0,
	blocked: 1,
	timeout: 2,
	failed: 3,
	canceled: undefined,
};

function signalNumber(signal: string | null | undefined): number | undefined {
	if (!signal) return undefined;
	return (constants.signals as Record<string, number>)[signal];
}

/** The CLI's exit code, GNU timeout compatible. */
export function exitCodeFor(
	outcome: Pick<Outcome, 'status' | 'exitCode' | 'signal' | 'holder'>,
	conflictExitCode: number = EXIT_CODES.blockedDefault,
	supervisorSignal?: string,
): number {
	switch (outcome.status) {
		case 'success':
			return EXIT_CODES.success;
		case 'blocked':
			return outcome.holder?.unreadable ? EXIT_CODES.usage : conflictExitCode;
		case 'timeout':
			return EXIT_CODES.timeout;
		case 'canceled':
			return 128 + (signalNumber(supervisorSignal) ?? constants.signals.SIGTERM);
		case 'failed': {
			if (outcome.exitCode !== null && outcome.exitCode !== 0) return outcome.exitCode;
			const number = signalNumber(outcome.signal);
			return number ? 128 + number : 1;
		}
	}
}

/** The node output an outcome goes to (index into OUTPUT_NAMES), or undefined for `canceled`. */
export function outputIndexFor(status: OutcomeStatus): number | undefined {
	return RUN_OUTPUT[status];
}

export type CleanupState = 'clean' | 'recovered' | 'held';

/** The DuckDB Lock Cleanup node's outputs, in order. */
export const CLEANUP_OUTPUT_NAMES = ['Clean', 'Recovered', 'Held'] as const;

/** A cleanup's state: its exit code (0: nothing holds the database afterwards) and its node output. */
export const CLEANUP_STATES: Record<CleanupState, { exitCode: number; output: number }> = {
	clean: { exitCode: 0, output: 0 },
	recovered: { exitCode: 0, output: 1 },
	held: { exitCode: 1, output: 2 },
};

/** What happened to a job that started, as the final status needs it. */
export interface JobEnding {
	exitCode: number | null;
	/** Why we stopped it, if we did. */
	stoppedBy?: Termination['reason'];
	/** The lock was lost (or the job could not be recorded in it): the job was stopped so that two writers never run. */
	lockLost?: string;
}

/** Pure: the status of a run whose job started. */
export function decideRunStatus(
	ending: JobEnding,
): Extract<OutcomeStatus, 'success' | 'timeout' | 'failed' | 'canceled'> {
	if (ending.lockLost) return 'failed';
	if (ending.stoppedBy === 'timeout') return 'timeout';
	if (ending.stoppedBy === 'canceled' || ending.stoppedBy === 'supervisor-signal') return 'canceled';
	return ending.exitCode === 0 ? 'success' : 'failed';
}
