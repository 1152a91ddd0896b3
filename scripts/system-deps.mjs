#!/usr/bin/env node
// What the tests, the e2e suite and the demo need beyond npm, brought by the commands themselves (npm test,
// npm run test:e2e, npm run demo run this first). Missing tools are installed from Debian's packages when this
// process can (root, apt-get present); otherwise it stops within seconds with one line per missing tool saying how to
// install it. Usage: node scripts/system-deps.mjs PROFILE... (test, e2e, demo, bench); --check only reports.
//
// One list for everyone: .ci/run has no package list of its own, so CI and a new user's machine get the same tools.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** tool → how to find it, the Debian package that brings it, and what needs it. */
export const TOOLS = {
	'redis-server': {
		debian: 'redis-server',
		brew: 'redis',
		why: 'the Redis lock tests start their own server on 127.0.0.1',
	},
	unshare: { debian: 'util-linux', brew: undefined, why: 'tests play containers in fresh PID and UTS namespaces' },
	setpriv: {
		debian: 'util-linux',
		brew: undefined,
		why: 'the queue-mode e2e suite runs PostgreSQL as nobody under root',
	},
	hostname: { debian: 'hostname', brew: undefined, why: 'the container tests set a host name per namespace' },
	busybox: {
		debian: 'busybox',
		brew: undefined,
		why: "the attack suite checks the allowlist against BusyBox applets (n8n's Alpine image)",
	},
	initdb: {
		debian: 'postgresql',
		brew: 'postgresql',
		why: 'the queue-mode e2e suite runs n8n on its own PostgreSQL',
		postgres: true,
	},
	python3: { debian: 'python3', brew: 'python3', why: "node-gyp rebuilds n8n's sqlite3 for Node 24" },
	make: { debian: 'make', brew: 'make', why: "node-gyp rebuilds n8n's sqlite3 for Node 24" },
	'g++': { debian: 'g++', brew: undefined, why: "node-gyp rebuilds n8n's sqlite3 for Node 24" },
};

export const PROFILES = {
	test: ['redis-server', 'unshare', 'hostname', 'busybox'],
	e2e: ['redis-server', 'unshare', 'setpriv', 'hostname', 'initdb', 'python3', 'make', 'g++'],
	demo: ['python3', 'make', 'g++'],
	bench: ['redis-server'],
};

/** Debian keeps PostgreSQL's server programs off PATH, in /usr/lib/postgresql/<version>/bin. */
export function postgresBinDirs(root = '/usr/lib/postgresql') {
	if (!existsSync(root)) return [];
	return readdirSync(root)
		.sort((a, b) => Number(b) - Number(a))
		.map((version) => join(root, version, 'bin'));
}

export function findTool(name, searchPath = process.env.PATH ?? '') {
	const folders = [...searchPath.split(delimiter).filter(Boolean), ...(TOOLS[name]?.postgres ? postgresBinDirs() : [])];
	return folders.map((folder) => join(folder, name)).find((candidate) => existsSync(candidate));
}

/** Pure: what to do about the missing tools on this machine. */
export function plan(missing, machine) {
	if (!missing.length) return { action: 'none' };
	const packages = [...new Set(missing.map((tool) => TOOLS[tool].debian))];
	if (machine.root && machine.aptGet) return { action: 'install', packages };
	const lines = missing.map((tool) => {
		const entry = TOOLS[tool];
		const how = [
			`Debian/Ubuntu: sudo apt-get install ${entry.debian}`,
			entry.brew ? `macOS: brew install ${entry.brew}` : undefined,
		]
			.filter(Boolean)
			.join('; ');
		return `missing: ${tool} (${entry.why}). Install it: ${how}`;
	});
	return { action: 'stop', lines };
}

function say(line) {
	process.stderr.write(`[system-deps] ${line}\n`);
}

function aptInstall(packages) {
	say(`installing ${packages.join(' ')} with apt-get (Debian's packages)`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	for (const args of [
		['update', '-qq'],
		['install', '-y', '-qq', '--no-install-recommends', ...packages],
	]) {
		const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
		if (result.status !== 0)
			return `apt-get ${args[0]} failed (exit ${result.status ?? result.signal}); install ${packages.join(' ')} by hand`;
	}
	return undefined;
}

function main(argv) {
	const check = argv.includes('--check');
	const profiles = argv.filter((arg) => !arg.startsWith('--'));
	const unknown = profiles.filter((profile) => !PROFILES[profile]);
	if (!profiles.length || unknown.length) {
		say(
			`usage: node scripts/system-deps.mjs [--check] ${Object.keys(PROFILES).join('|')}...${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
		);
		return 2;
	}
	const wanted = [...new Set(profiles.flatMap((profile) => PROFILES[profile]))];
	const missing = wanted.filter((tool) => !findTool(tool));
	const machine = { root: process.getuid?.() === 0, aptGet: Boolean(findTool('apt-get')) };
	const decision = plan(missing, check ? {} : machine);
	if (decision.action === 'none') return 0;
	if (decision.action === 'stop') {
		for (const line of decision.lines) say(line);
		if (!check)
			say(
				machine.root
					? 'apt-get is not available here: install the packages above, then run the command again'
					: 'not root, so nothing was installed: install the packages above, then run the command again',
			);
		return 1;
	}
	const failure = aptInstall(decision.packages);
	const still = wanted.filter((tool) => !findTool(tool));
	if (failure || still.length) {
		say(failure ?? `still missing after the install: ${still.join(', ')}`);
		return 1;
	}
	say(`installed: ${decision.packages.join(' ')}`);
	return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exit(main(process.argv.slice(2)));
