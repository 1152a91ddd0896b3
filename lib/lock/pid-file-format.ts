/**
 * The PID-file format, in one place.
 *
 * Line 1 is the PID a person would signal (`kill $(head -1 db.duckdb.pid)`): the job's process-group leader while a
 * job runs, the supervising process before that. `key=value` lines below carry the metadata, in the spirit of
 * PostgreSQL's postmaster.pid. Values are escaped so that a command containing a newline cannot forge a line.
 */

export const RECORD_FORMAT = 'duckdb-safe-ingest 1';

/**
 * Set in every job's environment: the lock file and token of its run. The cleanup reads them back from
 * /proc/<pid>/environ before it signals a job a lock file names: a forged lock file cannot put them into another
 * process's environment, while every fact in the file (PID, start time, boot id) is readable by anyone.
 */
export const JOB_PROOF_ENV = {
	lockFile: 'DUCKDB_SAFE_INGEST_LOCK_FILE',
	token: 'DUCKDB_SAFE_INGEST_LOCK_TOKEN',
} as const;

export interface ProcessRef {
	pid: number;
	/** Start time in clock ticks since boot; absent where /proc is not available. */
	startTicks?: number;
	command: string;
}

/**
 * An After hook a run owes the programs sharing the database (it told them to let go in its Before hook): recorded
 * in the lock from the moment Before is attempted until After is done, so that whoever next clears the lock does it.
 * Never a secret: a credential is named, not copied.
 */
export interface PendingAfter {
	kind: 'request' | 'command';
	/** `POST http://api:8000/refresh-connections` or the command line. */
	target: string;
	credential?: string;
}

export interface LockRecord {
	/** Line 1: the job (group leader) while it runs, else the supervisor. */
	pid: number;
	role: 'supervisor' | 'job';
	/** Start time of the line-1 process. */
	pidStart?: number;
	/** Process group of the line-1 process (equals pid for a job: `kill -- -PID` stops the whole job). */
	pgid?: number;
	command: string;
	host: string;
	bootId: string;
	pidNamespace: string;
	/** ISO time the lock was taken. */
	lockedAt: string;
	jobStartedAt?: string;
	/** Free-form label of who holds it, e.g. the n8n workflow and execution. */
	owner: string;
	/** The process that took the lock and will release it (a CLI run, or the n8n process). */
	supervisor: ProcessRef;
	/** Random value that proves ownership on release. */
	token: string;
	/**
	 * The lease: the holder refreshes the file's modification time every heartbeatMs; a holder that cannot be
	 * checked by PID (another host, another PID namespace) is stale once the heartbeat is older than staleAfterMs.
	 * Absent in files written before leases existed.
	 */
	heartbeatMs?: number;
	staleAfterMs?: number;
	/** Which lock decides: this file (default), or a Redis key (the file is then written for people and scripts). */
	backend?: 'file' | 'redis';
	redisKey?: string;
	/**
	 * Set when the supervisor gave up a job whose processes survived SIGKILL: from then on only the job's process
	 * group holds the lock, so the supervisor (n8n itself, when a node ran the job) living on does not hold it forever.
	 */
	abandonedAt?: string;
	afterPending?: PendingAfter;
	/** Set when the run ended but its After hook failed: the file stays only so that the After is still done. */
	releasedAt?: string;
}

export type ParsedPidFile =
	| { kind: 'record'; record: LockRecord }
	/** A file holding only a PID, as older wrapper scripts write it. */
	| { kind: 'legacy'; pid: number }
	| { kind: 'garbage'; reason: string };

const NEEDS_ESCAPE = /[\\\n\r]/;

function escapeValue(value: string): string {
	if (!NEEDS_ESCAPE.test(value)) return value;
	return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

function unescapeValue(value: string): string {
	return value.replace(/\\(.)/g, (_match, char: string) => (char === 'n' ? '\n' : char === 'r' ? '\r' : char));
}

/**
 * The most bytes one value takes in the file. Five free-form values (command, owner, supervisor command, host,
 * Redis key) of any length keep the record far below MAX_PID_FILE_BYTES, so a run with a huge command line never
 * takes its own lock for someone else's.
 */
export const MAX_VALUE_BYTES = 4096;

/** A value cut (by whole characters, marked with …) so that its escaped form fits in maxBytes. */
export function boundValue(value: string, maxBytes = MAX_VALUE_BYTES): string {
	if (Buffer.byteLength(escapeValue(value)) <= maxBytes) return value;
	const chars = [...value];
	let keep = Math.min(chars.length, maxBytes);
	while (keep > 0 && Buffer.byteLength(escapeValue(`${chars.slice(0, keep).join('')}…`)) > maxBytes)
		keep = Math.floor(keep * 0.9);
	return `${chars.slice(0, keep).join('')}…`;
}

/** The lock of a database is this file next to it. */
export function pidFilePathFor(databasePath: string): string {
	return `${databasePath}.pid`;
}

export function serializeRecord(record: LockRecord): string {
	const fields: Array<[string, string | number | undefined]> = [
		['format', RECORD_FORMAT],
		['role', record.role],
		['pid_start', record.pidStart],
		['pgid', record.pgid],
		['command', record.command],
		['host', record.host],
		['boot_id', record.bootId],
		['pid_ns', record.pidNamespace],
		['locked_at', record.lockedAt],
		['job_started_at', record.jobStartedAt],
		['owner', record.owner],
		['supervisor_pid', record.supervisor.pid],
		['supervisor_start', record.supervisor.startTicks],
		['supervisor_command', record.supervisor.command],
		['token', record.token],
		['heartbeat_ms', record.heartbeatMs],
		['stale_after_ms', record.staleAfterMs],
		['backend', record.backend],
		['redis_key', record.redisKey],
		['abandoned_at', record.abandonedAt],
		['after_pending', record.afterPending ? JSON.stringify(record.afterPending) : undefined],
		['released_at', record.releasedAt],
	];
	const lines = fields
		.filter(([, value]) => value !== undefined)
		.map(([key, value]) => `${key}=${escapeValue(boundValue(String(value)))}`);
	return `${record.pid}\n${lines.join('\n')}\n`;
}

const PID_LINE = /^\s*([1-9][0-9]{0,9})\s*$/;

function positiveInt(text: string | undefined): number | undefined {
	if (text === undefined || !/^[0-9]+$/.test(text)) return undefined;
	const value = Number(text);
	return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function nonNegativeInt(text: string | undefined): number | undefined {
	if (text === undefined || !/^[0-9]+$/.test(text)) return undefined;
	const value = Number(text);
	return Number.isSafeInteger(value) ? value : undefined;
}

export function parsePidFile(text: string): ParsedPidFile {
	if (text.trim() === '') return { kind: 'garbage', reason: 'the PID file is empty' };
	const lines = text.split('\n');
	const first = PID_LINE.exec(lines[0]);
	if (!first) return { kind: 'garbage', reason: `line 1 is not a PID: ${JSON.stringify(lines[0].slice(0, 40))}` };
	const pid = Number(first[1]);
	if (pid > 4_194_304) return { kind: 'garbage', reason: `line 1 (${pid}) is larger than any Linux PID` };
	const fields = new Map<string, string>();
	for (const line of lines.slice(1)) {
		const eq = line.indexOf('=');
		if (eq > 0) fields.set(line.slice(0, eq), unescapeValue(line.slice(eq + 1)));
	}
	if (fields.get('format') !== RECORD_FORMAT) return { kind: 'legacy', pid };
	const token = fields.get('token');
	const supervisorPid = positiveInt(fields.get('supervisor_pid'));
	const role = fields.get('role');
	if (!token || supervisorPid === undefined || (role !== 'job' && role !== 'supervisor')) {
		return {
			kind: 'garbage',
			reason: 'the PID file is in our format but incomplete (token, role or supervisor_pid missing)',
		};
	}
	return {
		kind: 'record',
		record: {
			pid,
			role,
			pidStart: nonNegativeInt(fields.get('pid_start')),
			pgid: positiveInt(fields.get('pgid')),
			command: fields.get('command') ?? '',
			host: fields.get('host') ?? '',
			bootId: fields.get('boot_id') ?? '',
			pidNamespace: fields.get('pid_ns') ?? '',
			lockedAt: fields.get('locked_at') ?? '',
			jobStartedAt: fields.get('job_started_at'),
			owner: fields.get('owner') ?? '',
			supervisor: {
				pid: supervisorPid,
				startTicks: nonNegativeInt(fields.get('supervisor_start')),
				command: fields.get('supervisor_command') ?? '',
			},
			token,
			...leaseFields(fields),
			...(fields.get('abandoned_at') ? { abandonedAt: fields.get('abandoned_at') } : {}),
			...pendingAfterField(fields.get('after_pending')),
			...(fields.get('released_at') ? { releasedAt: fields.get('released_at') } : {}),
		},
	};
}

/** The lease and backend fields, present only when written (files from before leases have none). */
function leaseFields(
	fields: Map<string, string>,
): Pick<LockRecord, 'heartbeatMs' | 'staleAfterMs' | 'backend' | 'redisKey'> {
	const lease: Pick<LockRecord, 'heartbeatMs' | 'staleAfterMs' | 'backend' | 'redisKey'> = {};
	const heartbeatMs = positiveInt(fields.get('heartbeat_ms'));
	const staleAfterMs = positiveInt(fields.get('stale_after_ms'));
	const backend = fields.get('backend');
	if (heartbeatMs !== undefined) lease.heartbeatMs = heartbeatMs;
	if (staleAfterMs !== undefined) lease.staleAfterMs = staleAfterMs;
	if (backend === 'redis' || backend === 'file') lease.backend = backend;
	if (fields.get('redis_key')) lease.redisKey = fields.get('redis_key');
	return lease;
}

/** The pending After hook of a record, when it is there and readable (a garbled one still says an After is owed). */
function pendingAfterField(text: string | undefined): Pick<LockRecord, 'afterPending'> {
	if (!text) return {};
	try {
		const value = JSON.parse(text) as Partial<PendingAfter>;
		if ((value.kind === 'request' || value.kind === 'command') && typeof value.target === 'string') {
			return {
				afterPending: {
					kind: value.kind,
					target: value.target,
					...(typeof value.credential === 'string' ? { credential: value.credential } : {}),
				},
			};
		}
	} catch {
		// Not JSON: fall through.
	}
	return { afterPending: { kind: 'request', target: `(unreadable: ${text.slice(0, 80)})` } };
}
