/**
 * The allowlist's decisions, case by case: which path a command invokes, and whether a listed entry allows it. Real
 * files and links in a temporary folder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAllowed, findExecutable, invokedPath, parseAllowlist } from '../lib/allowlist';

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
	assert.equal(invokedPath(join(alias, 'ls')), join(real, 'ls'), 'a link as last component stays a link (not /usr/bin/busybox)');
	assert.equal(invokedPath(appsSh), appsSh);
	assert.equal(invokedPath(`${join(alias, 'sub')}/../tool`), tool, '`..` after a link is walked as the kernel does');
	assert.equal(invokedPath('/ls'), '/ls');
	for (const bad of ['ls', `${real}/`, `${real}/..`, `${real}/.`, join(root, 'missing', 'tool')]) assert.equal(invokedPath(bad), undefined, bad);
});

test('findExecutable: PATH order, skipping directories and non-executables; empty and relative entries are the job folder', () => {
	const first = dir('path', 'first');
	const second = dir('path', 'second');
	mkdirSync(join(first, 'tool'));
	executable(join(dir('path', 'noexec'), 'tool'), 0o644);
	const found = executable(join(second, 'tool'));
	assert.equal(findExecutable('tool', [first, join(root, 'path', 'noexec'), second].join(':')), found);
	assert.equal(findExecutable('tool', `/nonexistent::${second}`, real), `${real}/./tool`, 'an empty entry is the job folder');
	assert.equal(findExecutable('tool', 'sub/..', real), `${real}/sub/../tool`, 'a relative entry is relative to the job folder');
	assert.equal(findExecutable('./tool', '', real), `${real}/./tool`, 'a name with a slash is relative to the job folder, not looked up');
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
	assert.deepEqual(checkAllowed('tool', { allowlist, path: `/nonexistent:${real}` }), { allowed: true, resolved: tool });
	assert.deepEqual(checkAllowed(join(alias, 'tool'), { allowlist }), { allowed: true, resolved: tool }, 'the same file through a linked folder');
	assert.deepEqual(checkAllowed(tool, { allowlist: [join(alias, 'tool')] }), { allowed: true, resolved: tool }, 'a listed path through a linked folder');
	assert.equal(checkAllowed(deep, { allowlist }).allowed, false);
});

test('checkAllowed: a listed applet link allows that name only, not other links to the same binary, nor the binary', () => {
	const allowlist = [appsLs];
	assert.deepEqual(checkAllowed(appsLs, { allowlist }), { allowed: true, resolved: appsLs });
	assert.deepEqual(checkAllowed('ls', { allowlist, path: apps }), { allowed: true, resolved: appsLs });
	const sh = checkAllowed('sh', { allowlist, path: apps });
	assert.equal(sh.allowed, false);
	assert.match(!sh.allowed ? sh.reason : '', new RegExp(`^The command ${appsSh} is not allowlisted\\. Ask your n8n instance admin .* ${appsSh} is a link to ${BUSYBOX}; list ${appsSh} itself`));
	assert.equal(checkAllowed(BUSYBOX, { allowlist }).allowed, false);
	assert.equal(checkAllowed(join(real, 'ls'), { allowlist }).allowed, false, 'an ls link elsewhere is another path');
});

test('checkAllowed: listing the target does not allow a link to it', () => {
	const verdict = checkAllowed(appsLs, { allowlist: [BUSYBOX] });
	assert.equal(verdict.allowed, false);
	assert.match(!verdict.allowed ? verdict.reason : '', new RegExp(`${appsLs} is a link to ${BUSYBOX}; list ${appsLs} itself`));
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
		assert.equal(checkAllowed(join(alias, 'tool'), { allowlist }).allowed, true, `${allowlist[0]}: via the linked folder`);
		assert.equal(checkAllowed(outward, { allowlist }).allowed, true, `${allowlist[0]}: a link inside the folder is invoked inside it`);
		assert.equal(checkAllowed(inward, { allowlist }).allowed, false, `${allowlist[0]}: a link outside pointing in is invoked outside`);
		assert.equal(checkAllowed(prefix, { allowlist }).allowed, false, `${allowlist[0]}: real2 is not inside real`);
	}
});

test('checkAllowed: relative, missing and empty entries allow nothing; an unresolvable command is refused', () => {
	assert.equal(checkAllowed(tool, { allowlist: ['real/tool', join(root, 'missing'), join(root, 'missing', 'tool')], cwd: root }).allowed, false);
	const missing = checkAllowed('no-such-command-xyz', { allowlist: [real], path: real });
	assert.match(!missing.allowed ? missing.reason : '', /^The command "no-such-command-xyz" cannot be resolved to an executable/);
});

test('checkAllowed: Use Shell needs the shell path itself listed, not the binary it links to, nor the command', () => {
	const shells = dir('shells');
	const sh = link('/usr/bin/dash', join(shells, 'sh'));
	assert.deepEqual(checkAllowed('echo hi', { allowlist: [sh], shell: sh }), { allowed: true, resolved: sh });
	const target = checkAllowed('echo hi', { allowlist: ['/usr/bin/dash', tool], shell: sh });
	assert.match(!target.allowed ? target.reason : '', new RegExp(`^Use Shell needs the shell ${sh}, which is not allowlisted\\. .* is a link to /usr/bin/dash; list ${sh} itself`));
	assert.equal(checkAllowed(tool, { allowlist: [tool], shell: sh }).allowed, false, 'the command line is not what runs');
});

test('checkAllowed: /bin/sh on this machine is allowed by listing /bin/sh, not by listing the binary it resolves to', (t) => {
	if (!lstatSync('/bin/sh').isSymbolicLink()) return t.skip('/bin/sh is not a link here');
	assert.equal(checkAllowed('true', { allowlist: ['/bin/sh'], shell: '/bin/sh' }).allowed, true);
	assert.equal(checkAllowed('true', { allowlist: [realpathSync('/bin/sh')], shell: '/bin/sh' }).allowed, false);
});
