/** Facts about paths that the checks of user input need (missing or unreadable counts as "no"). */
import { statSync } from 'node:fs';

export function isDirectory(path: string): boolean {
	try {
		return statSync(path).isDirectory();
	} catch {
		// Missing or unreadable: not a folder we can use; the caller words the message.
		return false;
	}
}

export function isNonEmptyFile(path: string): boolean {
	try {
		return statSync(path).size > 0;
	} catch {
		// Missing: not a usable file.
		return false;
	}
}
