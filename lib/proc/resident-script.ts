/**
 * A Node helper of ours kept alive between requests (the DuckDB probe), so that each request is a round trip over
 * a pipe instead of a Node start and a library load. A small pool per script per process, started on first use: each
 * helper serves one request at a time, so a slow one (a large WAL read) never holds up another database's probe, and
 * a helper killed for not answering in time takes no other request with it.
 *
 * A helper never keeps its parent alive (child and pipes are unreferenced while it has no request), it exits by
 * itself when idle (the script's own timer) and at once when its stdin ends (its parent went away). Requests are JSON
 * lines `{ id, ...request }`, answers JSON lines `{ id, ...reply }`.
 *
 * execa starts each one (its subprocess is a ChildProcess whose pipes stay open for as long as it serves); its stop
 * is a single SIGKILL of a direct child of ours that holds nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { loadExeca } from './execa';

type Child = ChildProcess & { stdin: Writable; stdout: Readable; stderr: Readable };

export type ResidentReply = { reply: Record<string, unknown> } | { failed: string; timedOut: boolean };

/** At most this many helpers of one script at once; more requests wait for one to be free. */
export const RESIDENT_DEFAULTS = { maxHelpers: 4 };

/** One helper process, one request at a time. */
class Helper {
	private pending?: { id: number; resolve: (reply: ResidentReply) => void; timer: NodeJS.Timeout };
	private stderr = '';
	private nextId = 1;
	gone = false;

	constructor(private readonly child: Child) {
		// A write to a helper that just exited fails with EPIPE; its exit settles the request.
		child.stdin.on('error', () => undefined);
		child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
		createInterface({ input: child.stdout }).on('line', (line) => this.answer(line));
		child.on('error', (error) => this.end(error.message));
		child.on('exit', (code, signal) => this.end(`the helper exited (${signal ?? `code ${code}`})`));
		this.reference(false);
	}

	get pid(): number | undefined {
		return this.child.pid;
	}

	send(message: object, timeoutMs: number): Promise<ResidentReply> {
		const id = this.nextId++;
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.settle({ failed: `no answer within ${timeoutMs} ms`, timedOut: true });
				this.kill();
			}, timeoutMs);
			this.pending = { id, resolve, timer };
			this.reference(true);
			this.child.stdin.write(`${JSON.stringify({ ...message, id })}\n`);
		});
	}

	kill(): void {
		this.gone = true;
		this.child.kill('SIGKILL');
	}

	private answer(line: string): void {
		let parsed: { id?: number } & Record<string, unknown>;
		try {
			parsed = JSON.parse(line) as typeof parsed;
		} catch {
			// Not one of our answers (a stray print): ignored, the request times out if it never comes.
			return;
		}
		if (parsed.id !== this.pending?.id) return;
		const reply: Record<string, unknown> = { ...parsed };
		delete reply.id;
		this.settle({ reply });
	}

	private end(why: string): void {
		this.gone = true;
		const detail = this.stderr.trim().slice(-300);
		this.settle({ failed: detail ? `${why}: ${detail}` : why, timedOut: false });
	}

	private settle(reply: ResidentReply): void {
		const pending = this.pending;
		if (!pending) return;
		this.pending = undefined;
		clearTimeout(pending.timer);
		this.reference(false);
		pending.resolve(reply);
	}

	/** Keeps the parent's event loop alive only while an answer is awaited. */
	private reference(on: boolean): void {
		const child = this.child;
		for (const target of [child, child.stdout, child.stderr, child.stdin] as Array<{
			ref?: () => void;
			unref?: () => void;
		}>)
			if (on) target.ref?.();
			else target.unref?.();
	}
}

export class ResidentScript {
	private readonly idle: Helper[] = [];
	private readonly all = new Set<Helper>();
	private readonly waiting: Array<(helper: Helper | undefined) => void> = [];
	/** Helpers being started (counted against the most, so that concurrent requests never start too many). */
	private starting = 0;
	/** How many helper processes were started (tests and the benchmark read it). */
	started = 0;
	/** How many requests were sent. */
	requests = 0;

	constructor(
		private readonly script: string,
		private readonly args: string[],
		private readonly maxHelpers = RESIDENT_DEFAULTS.maxHelpers,
	) {}

	/** Sends one request; answers with the reply, or why there is none. Retries once if the helper had just exited. */
	async request(message: object, timeoutMs: number): Promise<ResidentReply> {
		const first = await this.send(message, timeoutMs);
		if (!('failed' in first) || first.timedOut) return first;
		return this.send(message, timeoutMs);
	}

	/** The PID of a helper that runs now (the most recently idle one), if any. */
	get pid(): number | undefined {
		return (this.idle.at(-1) ?? [...this.all].at(-1))?.pid;
	}

	/** How many helper processes are alive. */
	get size(): number {
		return [...this.all].filter((helper) => !helper.gone).length;
	}

	/** Stops every helper now (they hold nothing between requests, so this is always safe). */
	stop(): void {
		for (const helper of this.all) helper.kill();
	}

	private async send(message: object, timeoutMs: number): Promise<ResidentReply> {
		const helper = await this.take();
		this.requests++;
		try {
			return await helper.send(message, timeoutMs);
		} finally {
			this.give(helper);
		}
	}

	/** A free helper: an idle one, a new one while there are fewer than the most, or the next to be given back. */
	private async take(): Promise<Helper> {
		for (let helper = this.idle.pop(); helper; helper = this.idle.pop()) if (!helper.gone) return helper;
		this.forget();
		if (this.all.size + this.starting < this.maxHelpers) return this.start();
		const given = await new Promise<Helper | undefined>((resolve) => this.waiting.push(resolve));
		return given && !given.gone ? given : this.take();
	}

	private give(helper: Helper): void {
		const next = this.waiting.shift();
		if (next) next(helper.gone ? undefined : helper);
		else if (!helper.gone) this.idle.push(helper);
		this.forget();
	}

	/** Drops the helpers that exited (idle timer, killed), so that new ones may start in their place. */
	private forget(): void {
		for (const helper of this.all) if (helper.gone) this.all.delete(helper);
	}

	private async start(): Promise<Helper> {
		this.starting++;
		const execa = await loadExeca().finally(() => this.starting--);
		const subprocess = execa(process.execPath, [this.script, ...this.args], {
			stdio: ['pipe', 'pipe', 'pipe'],
			buffer: false,
			reject: false,
			// It ends by itself with our stdin (its parent gone); execa's exit hook need not wait for it.
			cleanup: false,
		});
		// Its result settles when it exits; its end is handled through the exit event.
		subprocess.catch(() => undefined);
		const helper = new Helper(subprocess as unknown as Child);
		this.all.add(helper);
		this.started++;
		return helper;
	}
}
