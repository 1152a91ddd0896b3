/** Replaces secret values wherever they appear in a JSON-safe value (output tails, summaries, error messages). */
export const MASK = '********';

export function maskSecrets<T>(value: T, secrets: string[]): T {
	const needles = secrets.filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
	if (!needles.length) return value;
	const maskText = (text: string): string => needles.reduce((result, needle) => result.split(needle).join(MASK), text);
	const walk = (node: unknown): unknown => {
		if (typeof node === 'string') return maskText(node);
		if (Array.isArray(node)) return node.map(walk);
		if (node && typeof node === 'object')
			return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, walk(inner)]));
		return node;
	};
	return walk(value) as T;
}

/**
 * A URL's password (redis://user:secret@host) replaced by ***, wherever a command line carries one. The password
 * runs to the last @ before the host (an unencoded @ in it is not the end), so no part of it is left.
 */
export function redactUrlPasswords(text: string): string {
	return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s/]*@/gi, '$1***@');
}

/**
 * Every URL in a text as people may read it: its password and every query value (often a token) replaced by ***.
 * Each URL ends at white space, so the rest of a command line is kept as it is.
 */
export function redactUrls(text: string): string {
	return redactUrlPasswords(text).replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, (url) => {
		const query = url.indexOf('?');
		if (query < 0) return url;
		const [search, fragment] = url.slice(query + 1).split('#', 2);
		const masked = search.replace(/=[^&]*/g, '=***');
		return `${url.slice(0, query)}?${masked}${fragment === undefined ? '' : `#${fragment}`}`;
	});
}
