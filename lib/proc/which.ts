/**
 * What a command name will run, looked up as the OS will (execvp): a name with a slash is taken as it is (relative to
 * the job's folder); a bare name is searched in PATH, where an empty or relative entry is relative to the job's
 * folder; without any PATH, the C library's default. The first regular executable file wins; a file found without
 * execute permission makes it "not executable" (126) rather than "not found" (127), as execvp reports it.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';

/** Where Node's spawn (libuv) searches when the job's environment has no PATH: glibc's _PATH_DEFPATH (musl's also has /usr/local/bin). */
export const DEFAULT_PATH = '/usr/bin:/bin';

export type CommandLookup =
	| { kind: 'found'; path: string }
	| { kind: 'not-found' }
	| { kind: 'not-executable'; path: string };

export function lookupCommand(
	command: string,
	searchPath = process.env.PATH ?? DEFAULT_PATH,
	cwd = process.cwd(),
): CommandLookup {
	const within = (folder: string): string => (isAbsolute(folder) ? folder : `${resolve(cwd)}/${folder || '.'}`);
	const candidates = command.includes('/')
		? [isAbsolute(command) ? command : `${resolve(cwd)}/${command}`]
		: searchPath.split(delimiter).map((folder) => `${within(folder)}/${command}`);
	let denied: string | undefined;
	for (const candidate of candidates) {
		try {
			if (!statSync(candidate).isFile()) continue;
		} catch {
			// Not there: try the next PATH entry.
			continue;
		}
		try {
			accessSync(candidate, constants.X_OK);
			return { kind: 'found', path: candidate };
		} catch {
			// There but not executable: remembered, as execvp does, while the search goes on.
			denied ??= candidate;
		}
	}
	return denied ? { kind: 'not-executable', path: denied } : { kind: 'not-found' };
}
