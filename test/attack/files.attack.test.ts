/**
 * Attack suite, files: what Run SQL and Ingest Files can reach. n8n's own folder (its encryption key decrypts every
 * credential) is never reachable, whatever folder the database sits in; matched source files are checked one by one;
 * names, columns, keys and delimiters cannot inject SQL; globs cannot climb out of their folder.
 * Real DuckDB files and the real worker process, through the public runSqlScript / runIngestFiles.
 */
import { after, afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngestFiles, runSqlScript } from '../../lib/operations/supervise-worker';
import { UsageError } from '../../lib/base/errors';
import { parseColumns } from '../../lib/operations/spec';
import { sandboxLists } from '../../lib/duckdb/sandbox';

import { AGGTRADES_COLUMNS, query, writeAggTrades } from '../helpers/aggtrades';
import { stopAll, tempDir } from '../helpers/processes';
import { judgeAccess, n8nProtectedPaths } from '../../lib/base/file-access';

const dir = tempDir();
let n = 0;
const MARKER = 'n8n-encryption-key-5f1e9a';
const saved = {
	home: process.env.HOME,
	userFolder: process.env.N8N_USER_FOLDER,
	configFiles: process.env.N8N_CONFIG_FILES,
};
afterEach(() => stopAll());
after(() => dir.remove());

/** A home folder laid out like n8n's: ~/.n8n/config with the encryption key, the database right in the home. */
function home(): { home: string; db: string; config: string } {
	const root = join(dir.path, `home${++n}`);
	mkdirSync(join(root, '.n8n'), { recursive: true });
	mkdirSync(join(root, 'data'), { recursive: true });
	const config = join(root, '.n8n', 'config');
	writeFileSync(config, JSON.stringify({ encryptionKey: MARKER }));
	process.env.HOME = root;
	process.env.N8N_USER_FOLDER = root;
	return { home: root, db: join(root, 'market.duckdb'), config };
}

beforeEach(() => {
	for (const [name, value] of [
		['HOME', saved.home],
		['N8N_USER_FOLDER', saved.userFolder],
		['N8N_CONFIG_FILES', saved.configFiles],
	] as const) {
		if (value === undefined) delete process.env[name];
		else process.env[name] = value;
	}
});

function sql(databasePath: string, text: string) {
	return runSqlScript({ databasePath, sql: text, returnRows: true }, { timeoutMs: 60_000, graceMs: 5000 });
}

function assertNoKey(outcome: object): void {
	assert.doesNotMatch(JSON.stringify(outcome), new RegExp(MARKER), 'the encryption key never reaches the outcome');
}

test("finding 1: Run SQL cannot read n8n's config (encryption key) when the database sits in the home folder", async () => {
	const { db, config } = home();
	for (const text of [
		`SELECT content FROM read_text('${config}')`,
		`SELECT * FROM read_json('${config}')`,
		`SELECT content FROM read_blob('${join(config, '..', 'config')}')`,
		`SELECT * FROM read_csv('${config}', header = false)`,
	]) {
		const outcome = await sql(db, text);
		assert.equal(outcome.status, 'failed', `${text}: ${outcome.summary}`);
		assert.match(outcome.summary, /Permission Error|not allowed/, text);
		assertNoKey(outcome);
	}
	// The database itself and other files in the home folder stay usable.
	writeFileSync(join(dirOf(db), 'data', 'prices.csv'), 'id,price\n1,2.5\n');
	const fine = await sql(db, `SELECT * FROM read_csv('${join(dirOf(db), 'data', 'prices.csv')}')`);
	assert.equal(fine.status, 'success', fine.summary);
	assert.deepEqual(fine.sql?.rows, [{ id: 1, price: 2.5 }]);
});

test("finding 1: a link in the home folder to n8n's folder does not open it to Run SQL", async () => {
	const { home: root, db } = home();
	symlinkSync(join(root, '.n8n'), join(root, 'n8n-link'));
	const outcome = await sql(db, `SELECT content FROM read_text('${join(root, 'n8n-link', 'config')}')`);
	assert.equal(outcome.status, 'failed', outcome.summary);
	assertNoKey(outcome);
});

test('finding 1: files n8n blocks by its settings (N8N_CONFIG_FILES) are not readable either', async () => {
	const { home: root, db } = home();
	const extra = join(root, 'data', 'n8n-settings.json');
	writeFileSync(extra, JSON.stringify({ encryptionKey: MARKER }));
	process.env.N8N_CONFIG_FILES = extra;
	const outcome = await sql(db, `SELECT content FROM read_text('${extra}')`);
	assert.equal(outcome.status, 'failed', outcome.summary);
	assertNoKey(outcome);
});

test("finding 1: Ingest Files cannot load n8n's config through a wildcard in the folder name ($HOME/.n8[n]/config)", async () => {
	const { home: root, db } = home();
	const outcome = await runIngestFiles(
		{ databasePath: db, sources: [join(root, '.n8[n]', 'config')], table: 'stolen', format: 'json' },
		{ timeoutMs: 60_000 },
	);
	assert.equal(outcome.status, 'failed', outcome.summary);
	assert.match(outcome.summary, /n8n|protected|not allowed/i);
	assertNoKey(outcome);
	if (existsSync(db))
		assert.deepEqual(await query(db, "SELECT table_name FROM duckdb_tables() WHERE table_name = 'stolen'"), []);
});

test('finding 1: Ingest Files refuses a matched file that is a link to a place outside the allowed folders', async () => {
	const { home: root, db } = home();
	const src = join(root, 'data', 'incoming');
	mkdirSync(src);
	await writeAggTrades(join(src, 'a.csv'), { rows: 10 });
	const outside = join(dir.path, `outside${n}`);
	mkdirSync(outside);
	await writeAggTrades(join(outside, 'secret.csv'), { rows: 3, start: 900_000 });
	symlinkSync(join(outside, 'secret.csv'), join(src, 'b.csv'));
	const outcome = await runIngestFiles(
		{ databasePath: db, sources: [join(src, '*.csv')], table: 'trades' },
		{ timeoutMs: 60_000 },
	);
	assert.equal(outcome.status, 'failed', outcome.summary);
	assert.match(outcome.summary, /b\.csv.*outside the allowed folders/);
	if (existsSync(db))
		assert.deepEqual(
			await query(db, 'SELECT agg_trade_id FROM duckdb_tables() t, trades WHERE agg_trade_id >= 900000'),
			[],
		);
});

test("finding 1: a glob that climbs into n8n's folder with .. after a wildcard loads nothing", async () => {
	const { home: root, db } = home();
	const src = join(root, 'data', 'in');
	mkdirSync(join(src, 'x1'), { recursive: true });
	const outcome = await runIngestFiles(
		{ databasePath: db, sources: [`${src}/x*/../../../.n8n/*`], table: 'stolen', format: 'json' },
		{ timeoutMs: 60_000 },
	);
	assert.notEqual(outcome.status, 'success', outcome.summary);
	assertNoKey(outcome);
});

test('held: table, column, key and delimiter values cannot inject SQL (usage errors, nothing created)', async () => {
	const { home: root, db } = home();
	const src = join(root, 'data');
	await writeAggTrades(join(src, 'a.csv'), { rows: 5 });
	const base = { databasePath: db, sources: [join(src, 'a.csv')] };
	const attempts: Array<[string, () => Promise<unknown>]> = [
		['table', () => runIngestFiles({ ...base, table: 't; DROP TABLE x; --' }, {})],
		['table quote', () => runIngestFiles({ ...base, table: "t\"; COPY (SELECT 1) TO '/tmp/x'; --" }, {})],
		[
			'column name',
			() =>
				runIngestFiles(
					{ ...base, table: 't', columns: [{ name: 'a" INTEGER); DROP TABLE y; --', type: 'INTEGER' }] },
					{},
				),
		],
		[
			'column type',
			() =>
				runIngestFiles(
					{ ...base, table: 't', columns: [{ name: 'a', type: "INTEGER DEFAULT (read_text('/etc/passwd'))" }] },
					{},
				),
		],
		[
			'primary key',
			() => runIngestFiles({ ...base, table: 't', mode: 'upsert', primaryKey: ['a) ; DROP TABLE z; --'] }, {}),
		],
		[
			'delimiter',
			() => runIngestFiles({ ...base, table: 't', csvDelimiter: "', x = read_text('/etc/passwd'), y = '" }, {}),
		],
	];
	for (const [what, attempt] of attempts) await assert.rejects(attempt(), UsageError, what);
	assert.equal(existsSync(db), false, 'nothing was created');
	// Quotes in a path are data, not SQL: the file is read as what it is.
	const quoted = join(src, "it's.csv");
	await writeAggTrades(quoted, { rows: 3 });
	const outcome = await runIngestFiles(
		{ databasePath: db, sources: [quoted], table: 'trades', columns: parseColumns(AGGTRADES_COLUMNS) },
		{},
	);
	assert.equal(outcome.status, 'success', outcome.summary);
	assert.equal(outcome.ingest?.rows, 3);
});

function dirOf(path: string): string {
	return join(path, '..');
}

test('the sandbox lists carve a denied folder out of an allowed one, down to its parent, keeping everything else', () => {
	const root = join(dir.path, `carve${++n}`);
	for (const folder of ['a/b/secret', 'a/c', 'd']) mkdirSync(join(root, folder), { recursive: true });
	writeFileSync(join(root, 'top.csv'), '');
	writeFileSync(join(root, 'a', 'b', 'x.csv'), '');
	symlinkSync(join(root, 'a', 'b', 'secret'), join(root, 'link-to-secret'));
	symlinkSync(join(root, 'd'), join(root, 'link-to-d'));
	const lists = sandboxLists({ allowed: [root], denied: [join(root, 'a', 'b', 'secret')] });
	assert.deepEqual(
		lists.directories.sort(),
		[join(root, 'a', 'c') + '/', join(root, 'd') + '/', join(root, 'link-to-d') + '/'].sort(),
	);
	assert.deepEqual(lists.paths.sort(), [join(root, 'a', 'b', 'x.csv'), join(root, 'top.csv')].sort());
	assert.deepEqual(
		sandboxLists({
			allowed: [join(root, 'a', 'b', 'secret', '..', 'secret')].map((p) => join(p)),
			denied: [join(root, 'a', 'b', 'secret')],
		}),
		{ directories: [], paths: [] },
		'an allowed folder inside a denied one is dropped',
	);
	assert.deepEqual(sandboxLists({ allowed: [root], denied: [] }), { directories: [root + '/'], paths: [] });
});

test('judgeAccess: deny wins over allow; a sibling with a common prefix is not inside', () => {
	const access = { allowed: ['/home/n8n'], denied: ['/home/n8n/.n8n'] };
	assert.deepEqual(judgeAccess('/home/n8n/data/a.csv', access), { ok: true });
	assert.deepEqual(judgeAccess('/home/n8n/.n8n/config', access), { ok: false, reason: 'denied', by: '/home/n8n/.n8n' });
	assert.deepEqual(judgeAccess('/home/n8n/.n8n-files/a.csv', access), { ok: true });
	assert.deepEqual(judgeAccess('/home/n8nx/a.csv', access), { ok: false, reason: 'outside' });
	assert.deepEqual(judgeAccess('/home/n8n', access), { ok: true });
});

test("n8n's protected paths follow N8N_USER_FOLDER, then HOME, and n8n's own file settings", () => {
	const paths = n8nProtectedPaths({
		N8N_USER_FOLDER: '/srv/n8n',
		HOME: '/home/x',
		N8N_CONFIG_FILES: '/etc/n8n/a.json, /etc/n8n/b.json',
		N8N_CUSTOM_EXTENSIONS: '/opt/custom;/opt/more',
		N8N_BINARY_DATA_STORAGE_PATH: '/data/bin',
		N8N_UM_EMAIL_TEMPLATES_INVITE: 'relative/ignored',
	});
	assert.deepEqual(paths, [
		'/srv/n8n/.n8n',
		'/srv/n8n/.cache/n8n',
		'/etc/n8n/a.json',
		'/etc/n8n/b.json',
		'/opt/custom',
		'/opt/more',
		'/data/bin',
	]);
	assert.deepEqual(n8nProtectedPaths({ HOME: '/home/x' }).slice(0, 1), ['/home/x/.n8n']);
});

test("the built-in worker does not inherit n8n's secrets (N8N_ENCRYPTION_KEY) from the supervisor's environment", async () => {
	const { db } = home();
	process.env.N8N_ENCRYPTION_KEY = MARKER;
	let environ = '';
	let poll: NodeJS.Timeout | undefined;
	try {
		const outcome = await runSqlScript(
			// Long enough to be read while it runs: at the very moment of its start the gate is exec'ing the worker, and
			// a process in the middle of an exec shows an empty environment.
			{ databasePath: db, sql: 'SELECT count(*) FROM range(300000000)' },
			{},
			{
				onEvent: (event) => {
					if (event.type !== 'job-started') return;
					poll = setInterval(() => {
						try {
							environ = readFileSync(`/proc/${event.pid}/environ`, 'utf8') || environ;
						} catch {
							// Gone already: what was read before stands.
						}
					}, 5);
				},
			},
		);
		assert.equal(outcome.status, 'success', outcome.summary);
	} finally {
		clearInterval(poll);
		delete process.env.N8N_ENCRYPTION_KEY;
	}
	assert.match(environ, /(^|\0)PATH=/, 'the environment was read');
	assert.doesNotMatch(environ, new RegExp(MARKER));
});
