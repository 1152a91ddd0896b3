/**
 * The job's output: streamed on (to a log file, to the terminal, line by line to a callback) while only a bounded
 * tail of each stream is kept in memory, whatever the job prints.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { messageOf } from '../base/errors';
import type { StreamSummary } from '../outcome/outcome';

export const OUTPUT_DEFAULTS = {
	tailBytes: 64 * 1024,
	/** A line longer than this is handed to the line callback in pieces. */
	maxLineBytes: 64 * 1024,
};

export type StreamName = 'stdout' | 'stderr';

export class OutputTail {
	private chunks: Buffer[] = [];
	private kept = 0;
	bytes = 0;

	constructor(private readonly limit: number) {}

	push(chunk: Buffer): void {
		this.bytes += chunk.length;
		if (this.limit <= 0) return;
		if (chunk.length >= this.limit) {
			this.chunks = [chunk.subarray(chunk.length - this.limit)];
			this.kept = this.limit;
			return;
		}
		this.chunks.push(chunk);
		this.kept += chunk.length;
		while (this.kept - this.chunks[0].length >= this.limit) this.kept -= this.chunks.shift()!.length;
	}

	summary(): StreamSummary {
		let buffer = Buffer.concat(this.chunks);
		if (buffer.length > this.limit) buffer = buffer.subarray(buffer.length - this.limit);
		// Drop a UTF-8 sequence cut in half at the start of the tail.
		let start = 0;
		while (start < buffer.length && start < 4 && (buffer[start] & 0xc0) === 0x80) start++;
		return {
			tail: buffer.subarray(start).toString('utf8'),
			bytes: this.bytes,
			truncated: this.bytes > buffer.length - start,
		};
	}
}

/** Splits a byte stream into lines for a callback, holding at most one (bounded) partial line. */
class LineSplitter {
	private partial = '';

	constructor(private readonly emit: (line: string) => void) {}

	push(chunk: Buffer): void {
		const text = this.partial + chunk.toString('utf8');
		const lines = text.split('\n');
		this.partial = lines.pop() ?? '';
		for (const line of lines) this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
		while (this.partial.length > OUTPUT_DEFAULTS.maxLineBytes) {
			this.emit(this.partial.slice(0, OUTPUT_DEFAULTS.maxLineBytes));
			this.partial = this.partial.slice(OUTPUT_DEFAULTS.maxLineBytes);
		}
	}

	flush(): void {
		if (this.partial) this.emit(this.partial);
		this.partial = '';
	}
}

/**
 * The job's log file, appended with plain synchronous writes: into the page cache that costs a memcpy, far less than
 * a stream's queued asynchronous write per chunk, and a slow disk slows the reading (and so the job) instead of
 * growing memory.
 */
export class LogFile {
	private fd: number | undefined;

	constructor(readonly path: string) {
		this.fd = openSync(path, 'a', 0o644);
	}

	/** The first write error (disk full...): the log stops there, the job and its outcome go on. */
	failure?: string;

	write(data: Buffer | string): void {
		if (this.fd === undefined) return;
		try {
			writeSync(this.fd, typeof data === 'string' ? Buffer.from(data) : data);
		} catch (error) {
			this.failure = `writing the log file ${this.path} failed: ${messageOf(error)}`;
			this.close();
		}
	}

	close(footer = ''): void {
		if (this.fd === undefined) return;
		const fd = this.fd;
		this.fd = undefined;
		try {
			if (footer) writeSync(fd, Buffer.from(footer));
		} catch {
			// The footer is a courtesy; a full disk must not fail the run.
		}
		closeSync(fd);
	}
}

export interface OutputOptions {
	tailBytes?: number;
	log?: LogFile;
	onLine?: (stream: StreamName, line: string) => void;
	/** Where each stream is copied live (a log file, the terminal); slow sinks slow the job down instead of growing memory. */
	sinks?: Partial<Record<StreamName, Writable[]>>;
}

/** Consumes one of the job's streams. Resolves when it ends or is given up with `abandon()`. */
export class OutputPump {
	readonly tail: OutputTail;
	private readonly lines?: LineSplitter;
	readonly ended: Promise<void>;
	private finish!: () => void;

	constructor(
		private readonly source: Readable,
		readonly name: StreamName,
		options: OutputOptions,
	) {
		this.tail = new OutputTail(options.tailBytes ?? OUTPUT_DEFAULTS.tailBytes);
		const onLine = options.onLine;
		if (onLine) this.lines = new LineSplitter((line) => onLine(name, line));
		const sinks = [...(options.sinks?.[name] ?? [])];
		// The sinks that asked us to wait (write() returned false): the source reads on once none is left.
		const full = new Set<Writable>();
		const unblock = (sink: Writable): void => {
			if (full.delete(sink) && full.size === 0) source.resume();
		};
		for (const sink of sinks) {
			sink.on('drain', () => unblock(sink));
			// A closed terminal or pipe (EPIPE) stops the copy, not the job: a 'drain' will never come from it.
			sink.on('error', () => {
				const index = sinks.indexOf(sink);
				if (index >= 0) sinks.splice(index, 1);
				unblock(sink);
			});
		}
		const log = options.log;
		this.ended = new Promise((resolve) => (this.finish = resolve));
		source.on('data', (chunk: Buffer) => {
			this.tail.push(chunk);
			this.lines?.push(chunk);
			log?.write(chunk);
			for (const sink of sinks) {
				if (!sink.write(chunk)) full.add(sink);
			}
			if (full.size) source.pause();
		});
		source.once('end', () => this.done());
		source.once('close', () => this.done());
		source.once('error', () => this.done());
	}

	private done(): void {
		this.lines?.flush();
		this.finish();
	}

	/** Stops waiting for the stream (held open by a process outside the job's group). */
	abandon(): void {
		this.source.destroy();
		this.done();
	}
}
