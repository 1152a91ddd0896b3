/** Running a short-lived Node helper of ours (the DuckDB probe, WAL recovery) and reading its one JSON reply. */
import { loadExeca } from './execa';

export interface ScriptResult<T> {
	/** The JSON object on the script's last stdout line, when there is one. */
	reply?: T;
	exitCode?: number;
	timedOut: boolean;
	stderr: string;
}

/** Runs a short-lived Node helper of ours (a direct child, no group of its own) and reads its JSON reply. */
export async function runNodeScript<T>(script: string, args: string[], timeoutMs: number): Promise<ScriptResult<T>> {
	const execa = await loadExeca();
	const result = await execa(process.execPath, [script, ...args], {
		timeout: timeoutMs,
		reject: false,
		stdin: 'ignore',
	});
	const last =
		String(result.stdout ?? '')
			.trimEnd()
			.split('\n')
			.pop() ?? '';
	let reply: T | undefined;
	try {
		reply = last.startsWith('{') ? (JSON.parse(last) as T) : undefined;
	} catch {
		reply = undefined;
	}
	return { reply, exitCode: result.exitCode, timedOut: Boolean(result.timedOut), stderr: String(result.stderr ?? '') };
}
