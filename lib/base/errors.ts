/**
 * An error in how the tool was called or configured (a bad path, a bad duration): the message says what to fix.
 * The CLIs map it to exit code 125, the nodes to a NodeOperationError. Failures of the job itself are outcomes.
 */
export class UsageError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'UsageError';
	}
}

/** An error's message on one line (DuckDB's messages span several), for reports, summaries and JSON lines. */
export function messageOf(error: unknown): string {
	return (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();
}
