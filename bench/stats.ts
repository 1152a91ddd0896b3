/** Small helpers for benchmarks: timing, medians and the printed lines CI and closing notes quote. */
export function nowUs(): number {
	return Number(process.hrtime.bigint()) / 1000;
}

export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function line(name: string, fields: Record<string, string | number>): void {
	const text = Object.entries(fields)
		.map(([key, value]) => `${key}=${typeof value === 'number' ? round(value) : value}`)
		.join(' ');
	console.log(`bench ${name}: ${text}`);
}

function round(value: number): string {
	return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3);
}
