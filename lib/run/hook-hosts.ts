import { isIP } from 'node:net';

/**
 * Which hosts a hook credential may be sent to (deny by default): the credential lists them, a workflow editor only
 * picks the URL. An entry without a port allows any port of that host; `*.example.com` allows its subdomains.
 */

/** The allowed hosts of a credential's field: comma- or whitespace-separated, lower-cased. */
export function parseAllowedHosts(text: string | undefined): string[] {
	return (text ?? '')
		.split(/[\s,]+/)
		.map((entry) => entry.trim().toLowerCase())
		.filter(Boolean);
}

/** An entry's host and port (undefined: any port); `[::1]:8080` and `[::1]` for IPv6, as URL.hostname writes it. */
function splitEntry(entry: string): { host: string; port?: string } {
	const close = entry.startsWith('[') ? entry.indexOf(']') + 1 : 0;
	const colon = entry.indexOf(':', close);
	const single = close > 0 || entry.indexOf(':') === entry.lastIndexOf(':');
	if (colon < 0 || !single) return { host: entry };
	return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
}

function matches(entry: string, hostname: string, port: string): boolean {
	const { host, port: wanted } = splitEntry(entry);
	if (wanted !== undefined && wanted !== port) return false;
	// `*.example.com` is its subdomains, not example.com itself; never an IP address (`*.0.0.1`).
	if (host.startsWith('*.')) return !isIP(hostname.replace(/^\[|\]$/g, '')) && hostname.endsWith(host.slice(1));
	return host === hostname;
}

/** Why the credential may not go to this URL, or undefined when one of the allowed hosts names its host. */
export function credentialHostProblem(url: string, allowed: string[]): string | undefined {
	let target: URL;
	try {
		target = new URL(url);
	} catch {
		return `"${url}" is not a URL`;
	}
	const port = target.port || (target.protocol === 'https:' ? '443' : '80');
	const hostname = target.hostname.toLowerCase();
	if (allowed.some((entry) => matches(entry, hostname, port))) return undefined;
	const where = target.port ? `${hostname}:${target.port}` : hostname;
	return allowed.length
		? `the credential may be sent only to ${allowed.join(', ')}, not to ${where}: add ${hostname} to its Allowed Hosts or fix the URL`
		: `the credential lists no Allowed Hosts, so it is sent nowhere: add ${hostname} to its Allowed Hosts`;
}
