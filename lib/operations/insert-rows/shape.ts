/**
 * What the items look like, learnt in one pass as they are written: the fields in order of first appearance and,
 * per field, the kinds of value seen. From that, pure: the DuckDB type a new column gets. Also the compact form of a
 * list of item indexes (ranges) that the reports use.
 */

/** The kinds of JSON value a field can hold; `integer` is a whole number that fits BIGINT exactly. */
export type ValueKind = 'boolean' | 'integer' | 'float' | 'string' | 'date' | 'timestamp' | 'timestamptz' | 'nested';

export interface FieldShape {
	name: string;
	kinds: ValueKind[];
	/** The first item (0-based) whose value is an object or an array, when one is. */
	firstNested?: number;
}

export interface RowShape {
	fields: FieldShape[];
	rows: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const TIMESTAMP_TZ = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;

/** The kind of one value; undefined for null (and undefined), which fits every column. */
export function kindOf(value: unknown): ValueKind | undefined {
	if (value === null || value === undefined) return undefined;
	if (typeof value === 'boolean') return 'boolean';
	if (typeof value === 'number') return Number.isSafeInteger(value) ? 'integer' : 'float';
	if (typeof value === 'string') {
		// Only what starts like 2024-01-02 can be a date or a time: most text is told apart by two characters.
		if (value.length > 40 || value.length < 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45)
			return 'string';
		if (DATE.test(value)) return 'date';
		if (TIMESTAMP.test(value)) return 'timestamp';
		if (TIMESTAMP_TZ.test(value)) return 'timestamptz';
		return 'string';
	}
	return 'nested';
}

/** The type a new column gets for the kinds seen: the narrowest that holds them all; nothing seen: VARCHAR. */
export function typeFor(kinds: readonly ValueKind[]): string {
	const seen = new Set(kinds);
	if (seen.has('nested')) return 'JSON';
	if (!seen.size) return 'VARCHAR';
	if (seen.size === 1) {
		const [only] = seen;
		const TYPES: Record<ValueKind, string> = {
			boolean: 'BOOLEAN',
			integer: 'BIGINT',
			float: 'DOUBLE',
			string: 'VARCHAR',
			date: 'DATE',
			timestamp: 'TIMESTAMP',
			timestamptz: 'TIMESTAMPTZ',
			nested: 'JSON',
		};
		return TYPES[only];
	}
	if ([...seen].every((kind) => kind === 'integer' || kind === 'float')) return 'DOUBLE';
	if ([...seen].every((kind) => kind === 'date' || kind === 'timestamp')) return 'TIMESTAMP';
	return 'VARCHAR';
}

/** Learns the shape of rows one at a time (the supervisor's single pass over the items). */
export class ShapeBuilder {
	private readonly fields = new Map<string, { kinds: Set<ValueKind>; firstNested?: number }>();
	private rows = 0;

	add(row: Record<string, unknown>): void {
		for (const name in row) {
			let field = this.fields.get(name);
			if (!field) this.fields.set(name, (field = { kinds: new Set() }));
			const kind = kindOf(row[name]);
			if (!kind) continue;
			field.kinds.add(kind);
			if (kind === 'nested' && field.firstNested === undefined) field.firstNested = this.rows;
		}
		this.rows++;
	}

	shape(): RowShape {
		const fields = [...this.fields].map(([name, field]) => ({
			name,
			kinds: [...field.kinds],
			...(field.firstNested === undefined ? {} : { firstNested: field.firstNested }),
		}));
		return { fields, rows: this.rows };
	}
}

/** Sorted item indexes as ranges [first, last], inclusive: `[0, 4], [7, 7]` for 0–4 and 7. */
export type Ranges = Array<[number, number]>;

export function toRanges(sorted: Iterable<number>): Ranges {
	const ranges: Ranges = [];
	for (const index of sorted) {
		const last = ranges[ranges.length - 1];
		if (last && index === last[1] + 1) last[1] = index;
		else ranges.push([index, index]);
	}
	return ranges;
}

export function inRanges(ranges: Ranges, index: number): boolean {
	let low = 0;
	let high = ranges.length - 1;
	while (low <= high) {
		const middle = (low + high) >> 1;
		const [first, last] = ranges[middle];
		if (index < first) high = middle - 1;
		else if (index > last) low = middle + 1;
		else return true;
	}
	return false;
}

export function rangeCount(ranges: Ranges): number {
	return ranges.reduce((sum, [first, last]) => sum + last - first + 1, 0);
}
