/**
 * The one-line summaries, written to read well in a Discord or Slack message: of a run (any operation) and of a
 * holder (the one wording of "who holds the database", for Blocked outcomes, the CLIs and the cleanup).
 */
import { basename } from 'node:path';
import { formatDuration } from '../base/duration';
import type { HolderReport, Outcome } from './outcome';
import type { IngestReport, InsertReport } from './operation-reports';

function describeCommand(outcome: Pick<Outcome, 'command' | 'shell'>): string {
	const text = outcome.shell
		? outcome.command.join(' ')
		: outcome.command.map((arg) => (/\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' ');
	return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lastLine(text: string): string | undefined {
	const line = text.trimEnd().split('\n').pop()?.trim();
	if (!line) return undefined;
	return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

const LOCK_WORDS = { read: 'reading (read-only)', write: 'writing (read-write)', open: 'has the file open' } as const;

export function describeHolder(holder: HolderReport): string {
	const parts = [
		holder.pid !== null && holder.pid > 0
			? `PID ${holder.pid}`
			: holder.source === 'pid-file'
				? 'a process we cannot see'
				: 'a process in another container (or PID namespace)',
	];
	if (holder.remote) parts.push(holder.where ? `in ${holder.where}` : `on host ${holder.host}`);
	const heartbeat =
		holder.heartbeatAgeSeconds !== undefined
			? `heartbeat ${formatDuration(holder.heartbeatAgeSeconds * 1000)} ago`
			: undefined;
	const details = [
		holder.command,
		holder.lock ? LOCK_WORDS[holder.lock] : undefined,
		holder.elapsedSeconds !== undefined ? `running ${formatDuration(holder.elapsedSeconds * 1000)}` : undefined,
		heartbeat,
		holder.owner,
	].filter((part): part is string => Boolean(part));
	return details.length ? `${parts.join(' ')} (${details.join(', ')})` : parts.join(' ');
}

/** The run waited for others (readers, a foreign writer) to let go of DuckDB's lock. */
function waitedNote(outcome: Omit<Outcome, 'summary'>): string {
	const waited = outcome.lock.databaseWaitedMs;
	return waited ? ` (waited ${formatDuration(waited)} for other holders of the database to let go)` : '';
}

/** A hook that failed is said on the summary line (a failed Before is the Blocked reason itself). */
function hookNote(outcome: Omit<Outcome, 'summary'>): string {
	const failed = (outcome.hooks ?? []).filter((hook) => !hook.ok && hook.phase === 'after');
	return failed
		.map(
			(hook) =>
				`; the After hook ${hook.target} failed: ${hook.error}${hook.pendingFrom === undefined ? ' (it stays owed in the lock file)' : ''}`,
		)
		.join('');
}

function blocked(outcome: Omit<Outcome, 'summary'>, db: string): string {
	const pending = outcome.afterPending;
	if (pending) {
		return `Blocked: ${db}: the run of PID ${pending.pid} ended (or died) owing its After hook (${pending.target}); not started. Give this run the same After hook, or run duckdb-lock-cleanup with --after-request or --after-command (or do it by hand, then --after-done)`;
	}
	if (outcome.holder?.unreadable)
		return `Blocked: the lock file of ${db} is unreadable (${outcome.holder.detail}); not started`;
	if (outcome.holders && outcome.holders.length > 1)
		return `Blocked: ${db} is held by ${outcome.holders.map(describeHolder).join(', and by ')}; not started`;
	if (outcome.holder) return `Blocked: ${db} is held by ${describeHolder(outcome.holder)}; not started`;
	if (/^the (Before|After) hook/.test(outcome.error ?? '')) return `Blocked: ${db}: ${outcome.error}`;
	if (outcome.error)
		return `Blocked: the lock of ${db} cannot be checked: ${outcome.error}; not started (never run unprotected)`;
	return `Blocked: ${db} is locked; not started`;
}

/** The one-line human summary. */
export function summarize(outcome: Omit<Outcome, 'summary'>): string {
	return (summarizeOperation(outcome) ?? summarizeRun(outcome)) + hookNote(outcome);
}

function summarizeRun(outcome: Omit<Outcome, 'summary'>): string {
	const db = basename(outcome.database);
	const command = describeCommand(outcome);
	const took = formatDuration(outcome.durationMs);
	const recovered = outcome.lock.recovered.length
		? ` (recovered a stale lock of PID ${outcome.lock.recovered.map((entry) => `${entry.pid}, ${entry.reason}`).join('; ')})`
		: '';
	switch (outcome.status) {
		case 'success':
			return `Success: ${command} finished in ${took} on ${db}${recovered}${waitedNote(outcome)}`;
		case 'blocked':
			return blocked(outcome, db);
		case 'timeout': {
			const how = outcome.termination?.sigkillSent
				? `SIGTERM, then SIGKILL after ${formatDuration(outcome.graceMs)} grace`
				: 'SIGTERM';
			return `Timeout: ${command} stopped after ${took} (limit ${formatDuration(outcome.timeoutMs)}; ${how}) on ${db}${recovered}`;
		}
		case 'canceled':
			return `Canceled: ${command} stopped after ${took} on ${db} (${outcome.termination?.reason === 'supervisor-signal' ? 'the supervisor was signalled' : 'execution canceled'})`;
		case 'failed': {
			if (outcome.error) return `Failed: ${outcome.error} (on ${db})`;
			const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
			const detail = lastLine(outcome.output.stderr.tail) ?? lastLine(outcome.output.stdout.tail);
			return `Failed: ${command} ${how} after ${took} on ${db}${detail ? `: ${detail}` : ''}`;
		}
	}
}

function count(value: number, one: string, many = `${one}s`): string {
	return `${value.toLocaleString('en-US')} ${value === 1 ? one : many}`;
}

function bytes(value: number): string {
	if (value < 1024) return `${value} B`;
	const units = ['KiB', 'MiB', 'GiB', 'TiB'];
	let size = value / 1024;
	let unit = 0;
	while (size >= 1024 && unit < units.length - 1) {
		size /= 1024;
		unit++;
	}
	return `${size.toFixed(1)} ${units[unit]}`;
}

function describeIngest(report: IngestReport): string {
	const parts = [
		`${count(report.files.ingested, 'file')} (${count(report.rows, 'row')}, ${bytes(report.bytes)}) into ${report.table}`,
	];
	if (report.files.skipped) parts.push(`${report.files.skipped} unchanged skipped`);
	return parts.join(', ');
}

function describeInsert(report: InsertReport): string {
	const { inserted, ignored, updated } = report.rows;
	const parts = [`${count(inserted, 'row')} inserted`];
	if (report.mode === 'insertOrIgnore') parts.push(`${ignored.toLocaleString('en-US')} ignored`);
	if (report.mode === 'upsert') parts.push(`${updated.toLocaleString('en-US')} updated`);
	return `${parts.join(', ')} into ${report.table}`;
}

function summarizeInsert(outcome: Omit<Outcome, 'summary'>, report: InsertReport, where: string): string {
	const kept =
		report.landedItems > 0
			? `items 0–${report.landedItems - 1} committed (${report.batches.committed} of ${report.batches.total} batches: ${describeInsert(report)})`
			: 'nothing committed';
	switch (outcome.status) {
		case 'success':
			return `Success: ${describeInsert(report)} from ${count(report.items, 'item')} in ${where}`;
		case 'timeout':
			return `Timeout: stopped after ${where} (limit ${formatDuration(outcome.timeoutMs)}); ${kept}`;
		default:
			return `Failed: ${report.error ?? outcome.error ?? 'insert failed'}; ${kept} (${where})`;
	}
}

/** The summary line of an Ingest Files or Run SQL outcome; the generic one for anything else. */
export function summarizeOperation(outcome: Omit<Outcome, 'summary'>): string | undefined {
	const db = basename(outcome.database);
	const took = formatDuration(outcome.durationMs);
	const ingest = outcome.ingest;
	const sql = outcome.sql;
	if (outcome.status === 'blocked' || outcome.status === 'canceled') return undefined;
	if (outcome.insert) return summarizeInsert(outcome, outcome.insert, `${took} on ${db}`);
	if (ingest) {
		const failure = ingest.perFile.find((file) => file.status === 'failed');
		switch (outcome.status) {
			case 'success':
				return `Success: ingested ${describeIngest(ingest)} in ${took} on ${db}`;
			case 'timeout':
				return `Timeout: stopped after ${took} (limit ${formatDuration(outcome.timeoutMs)}); committed ${describeIngest(ingest)}; the next run resumes with the rest (on ${db})`;
			case 'failed':
				if (failure)
					return `Failed: ${basename(failure.path)}: ${failure.detail ?? 'failed'}; committed before it: ${describeIngest(ingest)} (on ${db})`;
				return `Failed: ${ingest.error ?? outcome.error ?? 'ingest failed'} (on ${db})`;
		}
	}
	if (sql) {
		switch (outcome.status) {
			case 'success':
				return `Success: ran ${count(sql.statementsRun, 'statement')}, ${count(sql.rowsChanged, 'row')} changed${sql.rows ? `, ${count(sql.rows.length, 'row')} returned` : ''} in ${took} on ${db}`;
			case 'timeout':
				if (sql.committed)
					return `Timeout: the limit (${formatDuration(outcome.timeoutMs)}) was reached as the script committed: ${count(sql.statementsRun, 'statement')} took effect on ${db}`;
				return `Timeout: SQL stopped after ${took} (limit ${formatDuration(outcome.timeoutMs)}); rolled back, nothing changed on ${db}`;
			case 'failed':
				return `Failed: ${sql.failedStatement ? `statement ${sql.failedStatement}: ` : ''}${sql.error ?? outcome.error ?? 'SQL failed'}; rolled back, nothing changed on ${db}`;
		}
	}
	return undefined;
}
