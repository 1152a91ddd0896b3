/** What the supervisor hands the worker process: checked tasks for one database, and where their reports go. */
import type { FileAccess } from '../base/file-access';
import type { ResolvedInsert } from './insert-rows/spec';
import type { ResolvedIngest, ResolvedSql } from './spec';

/** One task of the worker process: a checked spec and what SQL is confined to. */
export type WorkerTask =
	| { operation: 'ingestFiles'; spec: ResolvedIngest; access: FileAccess }
	| { operation: 'runSql'; spec: ResolvedSql; access: FileAccess }
	| { operation: 'insertRows'; spec: ResolvedInsert; access: FileAccess };

/** The worker's JSON input: tasks for one database, access and limits, each report appended to resultsPath. */
export interface WorkerBatch {
	tasks: WorkerTask[];
	resultsPath: string;
}
