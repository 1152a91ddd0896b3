/**
 * The allowlist's decisions, case by case: which path a command invokes, whether a listed entry allows it, which extra
 * variable names a job may get, and which inherited ones it keeps. Real files and links in a temporary folder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
	chmodSync,
	lstatSync,
	mkdirSync,
	mkdtempSync,
	realpathSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
	ALLOWED_ENV_ENV,
	checkAllowed,
	checkEnvNames,
	findExecutable,
	inheritedEnvFilter,
	invokedPath,
	parseAllowlist,
	parseEnvAllowlist,
} from '../../lib/proc/allowlist';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'allowlist-')));
after(() => rmSync(root, { recursive: true, force: true }));
const BUSYBOX = '/usr/bin/busybox';

function dir(...parts: string[]): string {
	const path = join(root, ...parts);
	mkdirSync(path, { recursive: true });
	return path;
}
function executable(path: string, mode = 0o755): string {
	writeFileSync(path, '#!/bin/sh\n');
	chmodSync(path, mode);
	return path;
}
function link(target: string, path: string): string {
	symlinkSync(target, path);
	return path;
}

// Fixtures: real/ holds tool and a BusyBox link ls; alias -> real (a linked folder); apps/ has ls and sh linking to BusyBox.
const real = dir('real');
const tool = executable(join(real, 'tool'));
link(BUSYBOX, join(real, 'ls'));
const alias = link(real, join(root, 'alias'));
const apps = dir('apps');
const appsLs = link(BUSYBOX, join(apps, 'ls'));
const appsSh = link(BUSYBOX, join(apps, 'sh'));
const deep = executable(join(dir('real', 'sub', 'deeper'), 'deep'));

test('parseAllowlist: unset or blank is unrestricted; entries are split like PATH and trimmed', () => {
	assert.equal(parseAllowlist(undefined), undefined);
	assert.equal(parseAllowlist(''), undefined);
	assert.equal(parseAllowlist('   '), undefined);
	assert.deepEqual(parseAllowlist(' /usr/bin/python3 : :/opt/ingest/bin '), ['/usr/bin/python3', '/opt/ingest/bin']);
});

test('invokedPath: the folder part is resolved, the last component is kept even when it is a link', () => {
	assert.equal(invokedPath(tool), tool);
	assert.equal(invokedPath(join(alias, 'tool')), tool, 'a linked folder is resolved');
	assert.equal(
		invokedPath(join(alias, 'ls')),
		join(real, 'ls'),
		'a link as last component stays a link (not /usr/bin/busybox)',
	);
	assert.equal(invokedPath(appsSh), appsSh);
	assert.equal(invokedPath(`${join(alias, 'sub')}/../tool`), tool, '`..` after a link is walked as the kernel does');
	assert.equal(invokedPath('/ls'), '/ls');
	for (const bad of ['ls', `${real}/`, `${real}/..`, `${real}/.`, join(root, 'missing', 'tool')])
		assert.equal(invokedPath(bad), undefined, bad);
});

test('findExecutable: PATH order, skipping directories and non-executables; empty and relative entries are the job folder', () => {
	const first = dir('path', 'first');
	const second = dir('path', 'second');
	mkdirSync(join(first, 'tool'));
	executable(join(dir('path', 'noexec'), 'tool'), 0o644);
	const found = executable(join(second, 'tool'));
	assert.equal(findExecutable('tool', [first, join(root, 'path', 'noexec'), second].join(':')), found);
	assert.equal(
		findExecutable('tool', `/nonexistent::${second}`, real),
		`${real}/./tool`,
		'an empty entry is the job folder',
	);
	assert.equal(
		findExecutable('tool', 'sub/..', real),
		`${real}/sub/../tool`,
		'a relative entry is relative to the job folder',
	);
	assert.equal(
		findExecutable('./tool', '', real),
		`${real}/./tool`,
		'a name with a slash is relative to the job folder, not looked up',
	);
	assert.equal(findExecutable('ls', real), join(real, 'ls'), 'a link is returned as found, not resolved');
	assert.equal(findExecutable('missing', `${first}:${second}`), undefined);
	assert.equal(findExecutable(join(root, 'path', 'noexec', 'tool')), undefined);
});

test('checkAllowed: without an allowlist everything is allowed', () => {
	assert.deepEqual(checkAllowed('anything-at-all', { allowlist: undefined, shell: '/bin/sh' }), { allowed: true });
});

test('checkAllowed: a listed file allows exactly that path, by path or by PATH lookup', () => {
	const allowlist = [tool];
	assert.deepEqual(checkAllowed(tool, { allowlist }), { allowed: true, resolved: tool });
	assert.deepEqual(checkAllowed('tool', { allowlist, path: `/nonexistent:${real}` }), {
		allowed: true,
		resolved: tool,
	});
	assert.deepEqual(
		checkAllowed(join(alias, 'tool'), { allowlist }),
		{ allowed: true, resolved: tool },
		'the same file through a linked folder',
	);
	assert.deepEqual(
		checkAllowed(tool, { allowlist: [join(alias, 'tool')] }),
		{ allowed: true, resolved: tool },
		'a listed path through a linked folder',
	);
	assert.equal(checkAllowed(deep, { allowlist }).allowed, false);
});

test('checkAllowed: a listed applet link allows that name only, not other links to the same binary, nor the binary', () => {
	const allowlist = [appsLs];
	assert.deepEqual(checkAllowed(appsLs, { allowlist }), { allowed: true, resolved: appsLs });
	assert.deepEqual(checkAllowed('ls', { allowlist, path: apps }), { allowed: true, resolved: appsLs });
	const sh = checkAllowed('sh', { allowlist, path: apps });
	assert.equal(sh.allowed, false);
	assert.match(
		!sh.allowed ? sh.reason : '',
		new RegExp(
			`^The command ${appsSh} is not allowlisted\\. Ask your n8n instance admin .* ${appsSh} is a link to ${BUSYBOX}; list ${appsSh} itself`,
		),
	);
	assert.equal(checkAllowed(BUSYBOX, { allowlist }).allowed, false);
	assert.equal(checkAllowed(join(real, 'ls'), { allowlist }).allowed, false, 'an ls link elsewhere is another path');
});

test('checkAllowed: listing the target does not allow a link to it', () => {
	const verdict = checkAllowed(appsLs, { allowlist: [BUSYBOX] });
	assert.equal(verdict.allowed, false);
	assert.match(
		!verdict.allowed ? verdict.reason : '',
		new RegExp(`${appsLs} is a link to ${BUSYBOX}; list ${appsLs} itself`),
	);
	assert.deepEqual(checkAllowed(BUSYBOX, { allowlist: [BUSYBOX] }), { allowed: true, resolved: BUSYBOX });
});

test('checkAllowed: a folder allows what is invoked inside it, at any depth, links included; nothing outside', () => {
	const outside = dir('outside');
	const inward = link(tool, join(outside, 'tool'));
	const outward = link('/usr/bin/printf', join(real, 'printf'));
	const prefix = executable(join(dir('real2'), 'tool'));
	for (const allowlist of [[real], [`${real}/`], [alias]]) {
		assert.equal(checkAllowed(tool, { allowlist }).allowed, true, `${allowlist[0]}: tool`);
		assert.equal(checkAllowed(deep, { allowlist }).allowed, true, `${allowlist[0]}: deep`);
		assert.equal(
			checkAllowed(join(alias, 'tool'), { allowlist }).allowed,
			true,
			`${allowlist[0]}: via the linked folder`,
		);
		assert.equal(
			checkAllowed(outward, { allowlist }).allowed,
			true,
			`${allowlist[0]}: a link inside the folder is invoked inside it`,
		);
		assert.equal(
			checkAllowed(inward, { allowlist }).allowed,
			false,
			`${allowlist[0]}: a link outside pointing in is invoked outside`,
		);
		assert.equal(checkAllowed(prefix, { allowlist }).allowed, false, `${allowlist[0]}: real2 is not inside real`);
	}
});

test('checkAllowed: relative, missing and empty entries allow nothing; an unresolvable command is refused', () => {
	assert.equal(
		checkAllowed(tool, { allowlist: ['real/tool', join(root, 'missing'), join(root, 'missing', 'tool')], cwd: root })
			.allowed,
		false,
	);
	const missing = checkAllowed('no-such-command-xyz', { allowlist: [real], path: real });
	assert.match(
		!missing.allowed ? missing.reason : '',
		/^The command "no-such-command-xyz" cannot be resolved to an executable/,
	);
});

test('checkAllowed: Use Shell needs the shell path itself listed, not the binary it links to, nor the command', () => {
	const shells = dir('shells');
	const sh = link('/usr/bin/dash', join(shells, 'sh'));
	assert.deepEqual(checkAllowed('echo hi', { allowlist: [sh], shell: sh }), { allowed: true, resolved: sh });
	const target = checkAllowed('echo hi', { allowlist: ['/usr/bin/dash', tool], shell: sh });
	assert.match(
		!target.allowed ? target.reason : '',
		new RegExp(
			`^Use Shell needs the shell ${sh}, which is not allowlisted\\. .* is a link to /usr/bin/dash; list ${sh} itself`,
		),
	);
	assert.equal(
		checkAllowed(tool, { allowlist: [tool], shell: sh }).allowed,
		false,
		'the command line is not what runs',
	);
});

test('checkAllowed: /bin/sh on this machine is allowed by listing /bin/sh, not by listing the binary it resolves to', (t) => {
	if (!lstatSync('/bin/sh').isSymbolicLink()) return t.skip('/bin/sh is not a link here');
	assert.equal(checkAllowed('true', { allowlist: ['/bin/sh'], shell: '/bin/sh' }).allowed, true);
	assert.equal(checkAllowed('true', { allowlist: [realpathSync('/bin/sh')], shell: '/bin/sh' }).allowed, false);
});

const names = (list: string[], allowedEnv?: string) =>
	checkEnvNames(list, { allowlist: [tool], allowedEnv, from: 'Environment Variables' });
const unconfined = (list: string[], allowedEnv?: string) =>
	checkEnvNames(list, { allowlist: undefined, allowedEnv, from: 'Environment Variables' });
const reason = (verdict: ReturnType<typeof checkEnvNames>): string => (verdict.allowed ? '' : verdict.reason);

test('checkEnvNames: names must be portable, with or without the allowlist', () => {
	for (const bad of ['BASH_FUNC_date%%', 'BASH_FUNC_date()', '1X', 'A-B', 'A=B', 'A B', '', 'Ä']) {
		for (const check of [names, unconfined]) {
			assert.match(
				reason(check(['TZ', bad])),
				new RegExp(
					`^"${bad.replace(/[()%]/g, '\\$&')}" \\(in Environment Variables\\) is not a valid environment variable name`,
				),
				bad,
			);
		}
	}
	assert.deepEqual(
		unconfined(['HOME', 'LD_PRELOAD', 'PATH', 'ANYTHING_1'], '*'),
		{ allowed: true },
		'without the allowlist, any portable name (and the admin variable is ignored)',
	);
});

test('checkEnvNames: with the allowlist, harmless names pass and everything else is refused by default', () => {
	assert.deepEqual(names([]), { allowed: true });
	assert.deepEqual(names(['TZ', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'NO_COLOR']), { allowed: true });
	for (const name of ['HOME', 'USER', 'TMPDIR', 'API_TOKEN', 'DATABASE_URL', 'TZX', 'LC_', 'lang', 'no_color']) {
		assert.match(
			reason(names([name])),
			new RegExp(
				`^The environment variable ${name} \\(in Environment Variables\\) is not allowed for jobs while .* Ask your n8n instance admin to add it to ${ALLOWED_ENV_ENV}`,
			),
			name,
		);
	}
});

test('checkEnvNames: the admin allows names and PREFIX_* patterns, exactly and case-sensitively', () => {
	for (const allowed of ['INGEST_TABLE', 'INGEST_*', 'A, INGEST_* :B', 'INGEST*'])
		assert.deepEqual(names(['INGEST_TABLE', 'TZ'], allowed), { allowed: true }, allowed);
	for (const [name, allowed] of [
		['INGESTX', 'INGEST_*'],
		['ingest_table', 'INGEST_*'],
		['INGEST_TABLE_2', 'INGEST_TABLE'],
		['XINGEST_TABLE', 'INGEST_*'],
	]) {
		assert.equal(names([name], allowed).allowed, false, `${name} with ${allowed}`);
	}
});

test('checkEnvNames: code-loading variables and PATH are refused even when the admin variable matches them', () => {
	const broad = 'LD_*:PATH:PYTHON*:PERL*:GIT_*:NODE_*:BASH_*:JAVA_TOOL_OPTIONS:OPENSSL_*:GCONV_PATH';
	for (const name of [
		'LD_PRELOAD',
		'LD_LIBRARY_PATH',
		'PATH',
		'NODE_OPTIONS',
		'PYTHONPATH',
		'PYTHONUSERBASE',
		'PYTHONSTARTUP',
		'PERLLIB',
		'PERL5LIB',
		'PERL5OPT',
		'BASH_ENV',
		'GIT_CONFIG_COUNT',
		'GIT_CONFIG_KEY_0',
		'JAVA_TOOL_OPTIONS',
		'OPENSSL_CONF',
		'GCONV_PATH',
	]) {
		assert.match(
			reason(names([name], broad)),
			new RegExp(`^The environment variable ${name} can make an allowlisted program run other code`),
			name,
		);
	}
	assert.deepEqual(
		names(['PYTHONUNBUFFERED', 'GIT_AUTHOR_NAME'], broad),
		{ allowed: true },
		'other names the patterns match pass',
	);
});

test('checkEnvNames: an admin entry that is neither a name nor PREFIX* makes every run refused, telling the admin', () => {
	for (const bad of ['*', 'A-B', 'X*Y', '$HOME', '*_KEY']) {
		assert.match(
			reason(names([], `TZ:${bad}`)),
			new RegExp(`^${ALLOWED_ENV_ENV} has entries that are neither .* \\(${bad.replace(/[*$]/g, '\\$&')}\\)`),
			bad,
		);
	}
});

test('parseEnvAllowlist: split on ":" and ",", trimmed; names, prefixes and invalid entries apart', () => {
	assert.deepEqual(parseEnvAllowlist(undefined), { names: [], prefixes: [], invalid: [] });
	assert.deepEqual(parseEnvAllowlist(' A ,B_*: :C*,*, 1X '), {
		names: ['A'],
		prefixes: ['B_', 'C'],
		invalid: ['*', '1X'],
	});
});

test('inheritedEnvFilter: the safe base and the admin names pass; n8n secrets and everything else do not', () => {
	const plain = inheritedEnvFilter(undefined);
	for (const name of [
		'PATH',
		'HOME',
		'USER',
		'LOGNAME',
		'SHELL',
		'LANG',
		'LANGUAGE',
		'LC_ALL',
		'LC_MESSAGES',
		'TZ',
		'TMPDIR',
		'TERM',
	])
		assert.equal(plain(name), true, name);
	for (const name of [
		'N8N_ENCRYPTION_KEY',
		'DB_POSTGRESDB_PASSWORD',
		'DUCKDB_SAFE_INGEST_REDIS_URL',
		'AWS_SECRET_ACCESS_KEY',
		'LD_PRELOAD',
		'NODE_OPTIONS',
		'PYTHONPATH',
		'INGEST_SOURCE',
		'path',
		'PATH2',
	]) {
		assert.equal(plain(name), false, name);
	}
	const admin = inheritedEnvFilter('INGEST_*, PYTHONPATH, *');
	assert.deepEqual(
		['INGEST_SOURCE', 'PYTHONPATH', 'PATH', 'N8N_ENCRYPTION_KEY', 'INGESTX'].map(admin),
		[true, true, true, false, false],
		"the admin's own values pass; an invalid entry allows nothing",
	);
});
