/**
 * A Node helper of ours kept alive between requests (the DuckDB probe), so that each request is a round trip over
 * a pipe instead of a Node start and a library load. One per script per process; started on first use.
 *
 * It never keeps its parent alive (child and pipes are unreferenced while no request is pending), it exits by itself
 * when idle (the script's own timer) and at once when its stdin ends (its parent went away). A request it does not
 * answer in time kills it; the next request starts a new one. Requests are JSON lines `{ id, ...request }`, answers
 * JSON lines `{ id, ...reply }`.
 *
 * execa starts it (its subprocess is a ChildProcess whose pipes stay open for as long as it serves); its stop is a
 * single SIGKILL of a direct child of ours that holds nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { loadExeca } from './execa';

type Helper = ChildProcess & { stdin: Writable; stdout: Readable; stderr: Readable };

interface Pending {
	resolve: (reply: ResidentReply) => void;
	timer: NodeJS.Timeout;
}

export type ResidentReply = { reply: Record<string, unknown> } | { failed: string; timedOut: boolean };

export class ResidentScript {
	private helper: Helper | undefined;
	private readonly pending = new Map<number, Pending>();
	private nextId = 1;
	private stderr = '';
	/** How many helper processes were started (tests and the benchmark read it). */
	started = 0;
	/** How many requests were sent. */
	requests = 0;

	constructor(
		private readonly script: string,
		private readonly args: string[],
	) {}

	/** Sends one request; answers with the reply, or why there is none. Retries once if the helper had just exited. */
	async request(message: object, timeoutMs: number): Promise<ResidentReply> {
		const first = await this.send(message, timeoutMs);
		if (!('failed' in first) || first.timedOut) return first;
		return this.send(message, timeoutMs);
	}

	/** The helper's PID, while one runs. */
	get pid(): number | undefined {
		return this.helper?.pid;
	}

	/** Stops the helper now (it holds nothing between requests, so this is always safe). */
	stop(): void {
		this.helper?.kill('SIGKILL');
	}

	private async send(message: object, timeoutMs: number): Promise<ResidentReply> {
		if (!this.helper) await this.start();
		const helper = this.helper!;
		const id = this.nextId++;
		this.requests++;
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.settle(id, { failed: `no answer within ${timeoutMs} ms`, timedOut: true });
				helper.kill('SIGKILL');
			}, timeoutMs);
			this.pending.set(id, { resolve, timer });
			this.reference(true);
			helper.stdin.write(`${JSON.stringify({ ...message, id })}\n`);
		});
	}

	/** Starts the helper (this.helper). Returns nothing: execa's subprocess is a thenable, which an async return would await. */
	private async start(): Promise<void> {
		const execa = await loadExeca();
		if (this.helper) return;
		const subprocess = execa(process.execPath, [this.script, ...this.args], {
			stdio: ['pipe', 'pipe', 'pipe'],
			buffer: false,
			reject: false,
			// It ends by itself with our stdin (its parent gone); execa's exit hook need not wait for it.
			cleanup: false,
		});
		// Its result settles when it exits; its end is handled through the exit event below.
		subprocess.catch(() => undefined);
		const helper = subprocess as unknown as Helper;
		this.helper = helper;
		this.started++;
		this.stderr = '';
		// A write to a helper that just exited fails with EPIPE; its exit settles the request.
		helper.stdin.on('error', () => undefined);
		helper.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
		createInterface({ input: helper.stdout }).on('line', (line) => this.answer(line));
		helper.on('error', (error) => this.fail(helper, error.message));
		helper.on('exit', (code, signal) => this.fail(helper, `the helper exited (${signal ?? `code ${code}`})`));
		this.reference(false);
	}

	private answer(line: string): void {
		let parsed: { id?: number } & Record<string, unknown>;
		try {
			parsed = JSON.parse(line) as typeof parsed;
		} catch {
			// Not one of our answers (a stray print): ignored, the request times out if it never comes.
			return;
		}
		if (typeof parsed.id !== 'number') return;
		const { id, ...reply } = parsed;
		this.settle(id, { reply });
	}

	private fail(helper: Helper, why: string): void {
		if (this.helper !== helper) return;
		this.helper = undefined;
		const detail = this.stderr.trim().slice(-300);
		for (const id of [...this.pending.keys()])
			this.settle(id, { failed: detail ? `${why}: ${detail}` : why, timedOut: false });
	}

	private settle(id: number, reply: ResidentReply): void {
		const pending = this.pending.get(id);
		if (!pending) return;
		this.pending.delete(id);
		clearTimeout(pending.timer);
		if (!this.pending.size) this.reference(false);
		pending.resolve(reply);
	}

	/** Keeps the parent's event loop alive only while an answer is awaited. */
	private reference(on: boolean): void {
		const helper = this.helper;
		if (!helper) return;
		for (const target of [helper, helper.stdout, helper.stderr, helper.stdin] as Array<{
			ref?: () => void;
			unref?: () => void;
		}>)
			if (on) target.ref?.();
			else target.unref?.();
	}
}
