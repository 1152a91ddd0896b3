/**
 * Attacks on the admin allowlist (DUCKDB_SAFE_INGEST_ALLOWED_COMMANDS), each against the DuckDB Safe Ingest node in
 * n8n 2.x's real execution engine, with real processes and real BusyBox. An attack that runs code writes a marker
 * file; a closed attack leaves none.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
	ALLOWED_ENV_VARIABLE,
	assertRefused,
	assertVectorWorks,
	attackBench,
	BUSYBOX,
	link,
	script,
	stdoutOf,
} from '../helpers/attack';
import { args } from '../helpers/workflow';
import { stopAll } from '../helpers/processes';

const bench = attackBench();
afterEach(() => stopAll());
after(() => bench.remove());

/** The binary /bin/sh really is: BusyBox on Alpine (n8n's official image), dash on Debian. */
const SHELL_BINARY = realpathSync('/bin/sh');
const NOT_LISTED = /is not allowlisted\. Ask your n8n instance admin/;

/** A folder with BusyBox applet links `ls` and `sh`, where only `<folder>/ls` is listed (BusyBox itself is not). */
function applets(): { apps: string; ls: string; sh: string; marker: string } {
	const apps = bench.folder('applets');
	return {
		apps,
		ls: link(BUSYBOX, join(apps, 'ls')),
		sh: link(BUSYBOX, join(apps, 'sh')),
		marker: join(apps, 'marker'),
	};
}

// --- finding 2: the allowlist matched real paths, so one listed applet allowed every applet of a multi-call binary.

test('finding 2: with only <folder>/ls (a BusyBox link) listed, <folder>/sh (another applet link to the same binary) is refused', async () => {
	const { ls, sh, marker } = applets();
	const run = await bench.run(
		{ commands: [ls] },
		{ parameters: { command: sh, arguments: args('-c', `touch ${marker}`) } },
	);
	assertRefused(run, NOT_LISTED, /is a link to .*busybox; list .*\/sh itself/);
	assert.equal(existsSync(marker), false, 'the refused applet did not run');
});

test('finding 2: with only <folder>/ls listed, a bare `sh` that PATH finds as a BusyBox link (as on Alpine) is refused', async () => {
	const { apps, ls, marker } = applets();
	const run = await bench.run(
		{ commands: [ls], process: { PATH: `${apps}:${process.env.PATH}` } },
		{ parameters: { command: 'sh', arguments: args('-c', `touch ${marker}`) } },
	);
	assertRefused(run, NOT_LISTED);
	assert.equal(existsSync(marker), false, 'the refused applet did not run');
});

test('finding 2: Use Shell is refused when only an applet link to the binary /bin/sh resolves to is listed, not /bin/sh itself', async () => {
	const apps = bench.folder('shell-applet');
	const ls = link(SHELL_BINARY, join(apps, 'ls'));
	const marker = join(apps, 'marker');
	const run = await bench.run({ commands: [ls] }, { parameters: { command: `touch ${marker}`, useShell: true } });
	assertRefused(run, /Use Shell needs the shell \/bin\/sh, which is not allowlisted/);
	assert.equal(existsSync(marker), false, 'the shell line did not run');
});

test('finding 2: with only <folder>/ls listed, <folder>/ls is still allowed and runs (as BusyBox ls)', async () => {
	const { apps, ls } = applets();
	const run = await bench.run({ commands: [ls] }, { parameters: { command: ls, arguments: args(apps) } });
	assert.deepEqual(stdoutOf(run), ['ls\nsh\n']);
});

test('finding 2: a link /tmp/x/python3 -> /bin/sh is refused when the admin lists only the real target of /bin/sh', async () => {
	const x = bench.folder('x');
	const python3 = link('/bin/sh', join(x, 'python3'));
	const marker = join(x, 'marker');
	const run = await bench.run(
		{ commands: [SHELL_BINARY] },
		{ parameters: { command: python3, arguments: args('-c', `touch ${marker}`) } },
	);
	assertRefused(run, NOT_LISTED, /python3 is a link to .*; list .*python3 itself/);
	assert.equal(existsSync(marker), false, 'the link did not run');
});

// --- finding 3: the environment the node gives the job was deny-listed, and the inherited one not filtered at all.

test('finding 3: PYTHONUSERBASE with a .pth file is refused for an allowlisted Python script (marker absent)', async () => {
	const dir = bench.folder('pythonuserbase');
	const marker = join(dir, 'marker');
	const base = join(dir, 'base');
	const site = execFileSync('/usr/bin/python3', ['-c', 'import site; print(site.getusersitepackages())'], {
		env: { ...process.env, PYTHONUSERBASE: base },
	})
		.toString()
		.trim();
	mkdirSync(site, { recursive: true });
	writeFileSync(join(site, 'evil.pth'), `import os; open(${JSON.stringify(marker)}, 'w').close()\n`);
	const job = script(join(dir, 'job.py'), '#!/usr/bin/python3\nprint("ok")\n');
	assertVectorWorks(marker, job, [], { PYTHONUSERBASE: base });
	const run = await bench.run(
		{ commands: [job] },
		{ parameters: { command: job, environment: { variable: [{ name: 'PYTHONUSERBASE', value: base }] } } },
	);
	assertRefused(run, /PYTHONUSERBASE/, /Ask your n8n instance admin/);
	assert.equal(existsSync(marker), false, 'the .pth file did not run');
});

test('finding 3: PERLLIB with a planted strict.pm is refused for an allowlisted Perl script (marker absent)', async () => {
	const dir = bench.folder('perllib');
	const marker = join(dir, 'marker');
	mkdirSync(join(dir, 'lib'));
	writeFileSync(join(dir, 'lib', 'strict.pm'), `open(my $f, '>', ${JSON.stringify(marker)}); 1;\n`);
	const job = script(join(dir, 'job.pl'), '#!/usr/bin/perl\nuse strict;\nprint "ok\\n";\n');
	assertVectorWorks(marker, job, [], { PERLLIB: join(dir, 'lib') });
	const run = await bench.run(
		{ commands: [job] },
		{ parameters: { command: job, environment: { variable: [{ name: 'PERLLIB', value: join(dir, 'lib') }] } } },
	);
	assertRefused(run, /PERLLIB/, /Ask your n8n instance admin/);
	assert.equal(existsSync(marker), false, 'the planted module did not run');
});

/** A git repository, and a marker that git's fsmonitor hook (a command taken from configuration) would write. */
function gitRepo(name: string): { repo: string; dir: string; marker: string } {
	const dir = bench.folder(name);
	const repo = join(dir, 'repo');
	execFileSync('git', ['init', '-q', repo]);
	return { repo, dir, marker: join(dir, 'marker') };
}

test('finding 3: HOME pointing at a planted .gitconfig is refused for allowlisted git (marker absent)', async () => {
	const { repo, dir, marker } = gitRepo('home');
	const home = join(dir, 'home');
	mkdirSync(home);
	writeFileSync(join(home, '.gitconfig'), `[core]\n\tfsmonitor = touch ${marker}\n`);
	assertVectorWorks(marker, '/usr/bin/git', ['status'], { HOME: home }, repo);
	const run = await bench.run(
		{ commands: ['/usr/bin/git'] },
		{
			parameters: {
				command: '/usr/bin/git',
				arguments: args('status'),
				workingDirectory: repo,
				environment: { variable: [{ name: 'HOME', value: home }] },
			},
		},
	);
	assertRefused(run, /HOME/, new RegExp(ALLOWED_ENV_VARIABLE));
	assert.equal(existsSync(marker), false, 'the planted configuration did not run');
});

test('finding 3: GIT_CONFIG_COUNT/GIT_CONFIG_KEY_0/GIT_CONFIG_VALUE_0 setting core.fsmonitor are refused for allowlisted git (marker absent)', async () => {
	const { repo, marker } = gitRepo('git-config');
	const env = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.fsmonitor', GIT_CONFIG_VALUE_0: `touch ${marker}` };
	assertVectorWorks(marker, '/usr/bin/git', ['status'], env, repo);
	const variable = Object.entries(env).map(([name, value]) => ({ name, value }));
	const run = await bench.run(
		{ commands: ['/usr/bin/git'] },
		{
			parameters: {
				command: '/usr/bin/git',
				arguments: args('status'),
				workingDirectory: repo,
				environment: { variable },
			},
		},
	);
	assertRefused(run, /GIT_CONFIG_/, /Ask your n8n instance admin/);
	assert.equal(existsSync(marker), false, 'the injected configuration did not run');
});

for (const [name, value] of [
	['JAVA_TOOL_OPTIONS', '-javaagent:/tmp/evil.jar'],
	['OPENSSL_CONF', '/tmp/evil-openssl.cnf'],
	['GCONV_PATH', '/tmp/evil-gconv'],
]) {
	test(`finding 3: ${name} given as an Environment Variable is refused while the allowlist is set`, async () => {
		const run = await bench.run(
			{ commands: ['/usr/bin/printf'] },
			{ parameters: { command: 'printf', arguments: args('ok'), environment: { variable: [{ name, value }] } } },
		);
		assertRefused(run, new RegExp(name), /Ask your n8n instance admin/);
	});
}

/** An allowlisted bash script that calls `date`, and a Job Secrets credential naming `BASH_FUNC_date%%`. */
function bashTakeover(): { job: string; marker: string; secrets: { name1: string; value1: string } } {
	const dir = bench.folder('bash-func');
	const marker = join(dir, 'marker');
	const job = script(join(dir, 'job.sh'), '#!/bin/bash\ndate >/dev/null\necho ok\n');
	const secrets = { name1: 'BASH_FUNC_date%%', value1: `() { touch ${marker}; }` };
	assertVectorWorks(marker, job, [], { [secrets.name1]: secrets.value1 });
	return { job, marker, secrets };
}

test('finding 3: a Job Secrets credential name BASH_FUNC_date%% is refused at run time, also without the allowlist (marker absent)', async () => {
	const { job, marker, secrets } = bashTakeover();
	const run = await bench.run({}, { parameters: { command: job }, secrets });
	assertRefused(run, /"BASH_FUNC_date%%" .*is not a valid environment variable name/);
	assert.equal(existsSync(marker), false, 'bash did not import the function');
});

test('finding 3: an allowlisted bash script calling date is not taken over by a BASH_FUNC_date%% Job Secrets name (marker absent)', async () => {
	const { job, marker, secrets } = bashTakeover();
	const run = await bench.run({ commands: [job] }, { parameters: { command: job }, secrets });
	assertRefused(run, /BASH_FUNC_date%%/);
	assert.equal(existsSync(marker), false, 'bash did not import the function');
});

test('finding 3: N8N_ENCRYPTION_KEY and DB_POSTGRESDB_PASSWORD of the n8n process do not reach an allowlisted job; admin-allowed names do', async () => {
	const secret = `attack-${Date.now()}`;
	const admin = {
		commands: ['/usr/bin/env'],
		env: 'INGEST_*',
		process: { N8N_ENCRYPTION_KEY: secret, DB_POSTGRESDB_PASSWORD: secret, INGEST_SOURCE: 'binance' },
	};
	const run = await bench.run(admin, {
		parameters: { command: '/usr/bin/env', environment: { variable: [{ name: 'INGEST_TABLE', value: 'trades' }] } },
	});
	const [printed] = stdoutOf(run);
	assert.doesNotMatch(printed, /^N8N_ENCRYPTION_KEY=/m);
	assert.doesNotMatch(printed, /^DB_POSTGRESDB_PASSWORD=/m);
	assert.ok(!printed.includes(secret), 'no n8n secret value reached the job');
	assert.match(printed, /^INGEST_SOURCE=binance$/m, 'an inherited name the admin allows reaches the job');
	assert.match(
		printed,
		/^INGEST_TABLE=/m,
		'an Environment Variable the admin allows reaches the job (its value masked here)',
	);
	assert.match(printed, /^PATH=/m, 'the safe base is inherited');
});

test('without the allowlist the job inherits the n8n process environment as before (README: anyone who edits a workflow can run anything then)', async () => {
	const run = await bench.run(
		{ process: { N8N_ENCRYPTION_KEY: 'unconfined' } },
		{ parameters: { command: '/usr/bin/env' } },
	);
	assert.match(stdoutOf(run)[0], /^N8N_ENCRYPTION_KEY=unconfined$/m);
});

// --- held: closed before this change, kept closed.

test('held: a binary that is not in the list is refused', async () => {
	const run = await bench.run({ commands: ['/usr/bin/printf'] }, { parameters: { command: '/usr/bin/id' } });
	assertRefused(run, /The command \/usr\/bin\/id is not allowlisted\. Ask your n8n instance admin/);
});

for (const [name, value] of [
	['LD_PRELOAD', '/tmp/evil.so'],
	['NODE_OPTIONS', '--require /tmp/evil.js'],
	['PATH', '/tmp/evil-bin:/usr/bin'],
]) {
	test(`held: ${name} given as an Environment Variable is refused while the allowlist is set`, async () => {
		const run = await bench.run(
			{ commands: ['/usr/bin/printf'] },
			{ parameters: { command: 'printf', arguments: args('ok'), environment: { variable: [{ name, value }] } } },
		);
		assertRefused(run, new RegExp(`The environment variable ${name} can make an allowlisted program run other code`));
	});
}

/** Three injection payloads, one input item each, given to the job through an expression in its Arguments. */
function injections(): { marker: string; payloads: string[] } {
	const marker = join(bench.folder('injection'), 'marker');
	return { marker, payloads: [`$(touch ${marker})`, `; touch ${marker}`, `\`touch ${marker}\``] };
}

test('held: $(...), ; and backticks given as Arguments arrive verbatim as one argument each (no shell), marker absent', async () => {
	const { marker, payloads } = injections();
	const run = await bench.run(
		{ commands: ['/usr/bin/printf'] },
		{
			items: payloads.map((payload) => ({ payload })),
			parameters: { command: 'printf', arguments: args('[%s]', '={{ $json.payload }}') },
		},
	);
	assert.deepEqual(
		stdoutOf(run),
		payloads.map((payload) => `[${payload}]`),
	);
	assert.equal(existsSync(marker), false);
});

test('held: with Use Shell and /bin/sh allowlisted, $(...), ; and backticks given as Arguments arrive verbatim as $1, marker absent', async () => {
	const { marker, payloads } = injections();
	const run = await bench.run(
		{ commands: ['/bin/sh'] },
		{
			items: payloads.map((payload) => ({ payload })),
			parameters: { command: 'printf "[%s]" "$1"', useShell: true, arguments: args('={{ $json.payload }}') },
		},
	);
	assert.deepEqual(
		stdoutOf(run),
		payloads.map((payload) => `[${payload}]`),
	);
	assert.equal(existsSync(marker), false);
});
