/**
 * Durations as people write them on a command line: a bare number is minutes (the old wrapper's `--timeout 120`),
 * or a number with a unit: `ms`, `s`, `m`, `h`, `d` (GNU timeout's units, plus milliseconds).
 */
import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, what: string, bareUnit: keyof typeof UNIT_MS = 'm'): number {
	const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
	if (!match) {
		throw new UsageError(
			`${what} "${text}" is not a duration. Use a number of ${unitName(bareUnit)} or a value like 90s, 15m, 2h.`,
		);
	}
	const ms = Number(match[1]) * UNIT_MS[(match[2] ?? bareUnit).toLowerCase()];
	if (!Number.isFinite(ms) || ms > 365 * UNIT_MS.d) throw new UsageError(`${what} "${text}" is too large.`);
	return Math.round(ms);
}

function unitName(unit: string): string {
	return { ms: 'milliseconds', s: 'seconds', m: 'minutes', h: 'hours', d: 'days' }[unit] ?? unit;
}

/** `4h52m`, `3m05s`, `850ms`: short, for summaries and prompts. */
export function formatDuration(ms: number): string {
	if (!Number.isFinite(ms) || ms < 0) return '?';
	if (ms < 1000) return `${Math.round(ms)}ms`;
	const totalSeconds = Math.floor(ms / 1000);
	const days = Math.floor(totalSeconds / 86_400);
	const hours = Math.floor((totalSeconds % 86_400) / 3600);
	const minutes = Math.floor((totalSeconds % 3600) / 60);
	const seconds = totalSeconds % 60;
	if (days > 0) return `${days}d${hours}h`;
	if (hours > 0) return `${hours}h${String(minutes).padStart(2, '0')}m`;
	if (minutes > 0) return `${minutes}m${String(seconds).padStart(2, '0')}s`;
	return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}
