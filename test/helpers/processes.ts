/**
 * Real processes for tests. Every process a test starts is tracked here, and `stopAll()` signals only those, by the
 * PID we got when we started them, and the job groups their children lead (identity-checked).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { signalGroup, type GroupIdentity } from '../../lib/proc/group';
import { procAvailable, readProcess } from '../../lib/proc/identity';

export const FIXTURES = join(__dirname, '..', 'fixtures');
const started = new Set<ChildProcess>();

/** Remembers a process a test started, so that stopAll() can stop it if the test fails before it exits. */
export function track(child: ChildProcess): ChildProcess {
	started.add(child);
	child.once('exit', () => started.delete(child));
	return child;
}

export function fixture(name: string): string {
	return join(FIXTURES, `${name}.js`);
}

/** A child whose stdout carries JSON lines, one event each. */
export class JsonChild {
	readonly child: ChildProcess;
	private readonly events: object[] = [];
	private waiters: Array<() => void> = [];
	readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
	stderr = '';
	/** True once the process exited and its output was read to the end. */
	private closed = false;

	constructor(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
		this.child = spawn(command, args, {
			stdio: ['pipe', 'pipe', 'pipe'],
			cwd: options.cwd,
			env: options.env ?? process.env,
		});
		started.add(this.child);
		this.exited = new Promise((resolve) =>
			this.child.on('close', (code, signal) => {
				this.closed = true;
				started.delete(this.child);
				resolve({ code, signal });
				for (const waiter of this.waiters.splice(0)) waiter();
			}),
		);
		createInterface({ input: this.child.stdout! }).on('line', (line) => {
			try {
				this.events.push(JSON.parse(line) as object);
			} catch {
				this.events.push({ event: 'text', line });
			}
			for (const waiter of this.waiters.splice(0)) waiter();
		});
		this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
	}

	get pid(): number {
		return this.child.pid!;
	}

	send(message: object): void {
		this.child.stdin!.write(`${JSON.stringify(message)}\n`);
	}

	/** The next event with the given name (consumed), failing after a generous time. */
	async next<T = Record<string, unknown>>(event: string, timeoutMs = 20_000): Promise<T> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const index = this.events.findIndex((candidate) => (candidate as { event?: string }).event === event);
			if (index >= 0) return this.events.splice(index, 1)[0] as T;
			if (this.closed) {
				throw new Error(`process ${this.pid} exited before "${event}": ${this.stderr}`);
			}
			if (Date.now() > deadline)
				throw new Error(`no "${event}" from process ${this.pid} within ${timeoutMs} ms: ${this.stderr}`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, 200);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}
}

export function nodeChild(script: string, args: string[] = [], prefix: string[] = []): JsonChild {
	const argv = [...prefix, process.execPath, fixture(script), ...args];
	return new JsonChild(argv[0], argv.slice(1));
}

/**
 * The process groups led by children of `parent` (a supervisor's jobs), with their leaders' start times. Asked only
 * while `parent` is a child of ours that has not been reaped, so its PID is still the process we started.
 */
function jobGroupsOf(parent: number): GroupIdentity[] {
	if (!procAvailable) return [];
	const groups: GroupIdentity[] = [];
	for (const name of readdirSync('/proc')) {
		const pid = Number(name);
		if (!Number.isSafeInteger(pid) || pid <= 0) continue;
		const facts = readProcess(pid, { details: false });
		if (facts && facts.ppid === parent && facts.pgid === pid)
			groups.push({ pgid: pid, leaderStartTicks: facts.startTicks });
	}
	return groups;
}

/**
 * SIGKILL every process this test file started and has not seen exit, and the process groups their children lead
 * (the jobs of a supervisor under test, which SIGKILL to the supervisor would leave running as orphans). Groups are
 * signalled by the identity taken here, re-checked right before the signal.
 */
export function stopAll(): void {
	for (const child of started) {
		if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
		const groups = jobGroupsOf(child.pid);
		child.kill('SIGKILL');
		for (const group of groups) signalGroup(group, 'SIGKILL');
	}
}

export function tempDir(prefix = 'duckdb-safe-ingest-test-'): { path: string; remove(): void } {
	const path = mkdtempSync(join(tmpdir(), prefix));
	return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
