/**
 * How the worker takes a stop (SIGTERM from a timeout, Stop or the cleanup): it interrupts the running query, so that
 * the open transaction rolls back, but never a COMMIT in progress (the stop is acted on right after it).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { WorkerControl } from './ingest-files/load';

export class WorkerStop {
	stopping = false;
	private inCommit = false;
	private connection?: DuckDBConnection;

	constructor() {
		for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
			process.on(signal, (received) => this.onSignal(received));
	}

	/** The connection a stop interrupts, once the database is open. */
	attach(connection: DuckDBConnection): void {
		this.connection = connection;
	}

	private onSignal(signal: NodeJS.Signals): void {
		if (this.stopping) return;
		this.stopping = true;
		const action = this.inCommit
			? 'stopping after the commit in progress'
			: this.connection
				? 'interrupting the query and rolling back'
				: 'stopping before any work on the database';
		process.stdout.write(`received ${signal}: ${action}\n`);
		if (!this.inCommit) this.connection?.interrupt();
	}

	/** What the operations see of it; `tag` starts each progress line (a batch's `[item N] `). */
	control(tag = ''): WorkerControl {
		return {
			stopping: () => this.stopping,
			progress: (line) => process.stdout.write(`${line.replace(/^/gm, tag)}\n`),
			committing: async (commit) => {
				this.inCommit = true;
				try {
					return await commit();
				} finally {
					this.inCommit = false;
				}
			},
		};
	}
}
