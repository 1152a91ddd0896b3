/**
 * The rows of an Insert Rows run travel from the supervisor to the worker as an NDJSON file in a private temporary
 * folder: written as the items are read (never a second copy of all items in memory), learnt (the shape) on the way,
 * and read back by the worker in chunks. One place knows this file.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../../base/errors';
import { ShapeBuilder, type RowShape } from './shape';

/** The rows as the worker gets them: the file, their shape and their count. */
export interface RowFile {
	path: string;
	shape: RowShape;
}

const FLUSH_AT = 1 << 20;

export class RowFileWriter {
	readonly folder = mkdtempSync(join(tmpdir(), 'duckdb-safe-ingest-rows-'));
	readonly path = join(this.folder, 'rows.ndjson');
	/** Closed (undefined) once: a descriptor number closed twice may by then be another file's or a socket's. */
	private fd: number | undefined = openSync(this.path, 'wx', 0o600);
	private readonly shape = new ShapeBuilder();
	private pending: string[] = [];
	private pendingLength = 0;

	/** One row (an item's fields); what JSON cannot hold (functions, undefined) is left out as JSON.stringify does. */
	add(row: Record<string, unknown>): void {
		this.shape.add(row);
		const line = `${JSON.stringify(row)}\n`;
		this.pending.push(line);
		this.pendingLength += line.length;
		if (this.pendingLength >= FLUSH_AT) this.flush();
	}

	private flush(): void {
		if (this.fd === undefined) throw new Error('the row file is already finished');
		if (this.pending.length) writeSync(this.fd, this.pending.join(''));
		this.pending = [];
		this.pendingLength = 0;
	}

	/** The file, complete and closed. */
	finish(): RowFile {
		this.flush();
		this.close();
		return { path: this.path, shape: this.shape.shape() };
	}

	private close(): void {
		const fd = this.fd;
		this.fd = undefined;
		if (fd !== undefined) closeSync(fd);
	}

	/** Removes the folder (after the run, or when the rows are not used). */
	dispose(): void {
		this.close();
		rmSync(this.folder, { recursive: true, force: true });
	}
}

/** Lines of a file or a descriptor, read in chunks; the last line needs no newline. */
export function* lines(source: string | number, chunkBytes = 4 << 20): Generator<string> {
	const fd = typeof source === 'number' ? source : openSync(source, 'r');
	const buffer = Buffer.allocUnsafe(chunkBytes);
	// A chunk may end inside a character: the decoder keeps its first bytes for the next chunk.
	const decoder = new StringDecoder('utf8');
	let rest = '';
	try {
		for (;;) {
			const read = readSync(fd, buffer, 0, chunkBytes, null);
			if (read === 0) break;
			const text = rest + decoder.write(buffer.subarray(0, read));
			const parts = text.split('\n');
			rest = parts.pop()!;
			yield* parts;
		}
		rest += decoder.end();
		if (rest) yield rest;
	} finally {
		if (typeof source !== 'number') closeSync(fd);
	}
}

/** The rows of an NDJSON file, one object per line (blank lines skipped); a bad line throws naming it. */
export function* rows(source: string | number): Generator<Record<string, unknown>> {
	let number = 0;
	for (const line of lines(source)) {
		number++;
		if (!line.trim()) continue;
		let value: unknown;
		try {
			value = JSON.parse(line);
		} catch (error) {
			throw new UsageError(`line ${number} is not JSON (${(error as Error).message}). Give one JSON object per line.`);
		}
		if (typeof value !== 'object' || value === null || Array.isArray(value))
			throw new UsageError(`line ${number} is not a JSON object. Give one object per line, e.g. {"a": 1}.`);
		yield value as Record<string, unknown>;
	}
}

/** Rows read from an NDJSON file or stdin ('-') into a row file: the CLI's way in, the node's path after it. */
export function rowFileFromNdjson(source: string): RowFileWriter & { file: RowFile } {
	const writer = new RowFileWriter();
	try {
		for (const row of rows(source === '-' ? 0 : source)) writer.add(row);
		return Object.assign(writer, { file: writer.finish() });
	} catch (error) {
		writer.dispose();
		const code = (error as NodeJS.ErrnoException).code;
		if (code)
			throw new UsageError(`${source}: cannot read it (${code}). Give the path of an NDJSON file, or - for stdin.`);
		throw new UsageError(`${source}: ${(error as Error).message}`);
	}
}
