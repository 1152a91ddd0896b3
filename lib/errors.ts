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
