/** Masking secrets and redacting URL passwords wherever something is recorded or printed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskSecrets, redactUrlPasswords, redactUrls } from '../../lib/base/mask';

test('URL passwords are redacted whole, also with an unencoded @ in them', () => {
	assert.equal(
		redactUrlPasswords('x --redis redis://:pa@ss-w0rd@127.0.0.1:6379/0 y'),
		'x --redis redis://:***@127.0.0.1:6379/0 y',
	);
	assert.equal(redactUrlPasswords('redis://worker:s3cret@redis:6379'), 'redis://worker:***@redis:6379');
	assert.equal(
		redactUrlPasswords('http://host/a@b mail@example.com'),
		'http://host/a@b mail@example.com',
		'no password, nothing changed',
	);
});

test('secrets are masked in every string of a JSON value, longest first; values shorter than 3 characters are not', () => {
	const value = { summary: 'key abcdef and abc', nested: [{ tail: 'token=abcdef' }], count: 3, short: 'xy' };
	assert.deepEqual(maskSecrets(value, ['abc', 'abcdef', 'xy']), {
		summary: 'key ******** and ********',
		nested: [{ tail: 'token=********' }],
		count: 3,
		short: 'xy',
	});
	assert.equal(maskSecrets('nothing', []), 'nothing');
});

test('redactUrls masks passwords and query values of every URL in a command line, and keeps the rest of the line', () => {
	const line =
		'duckdb-lock-cleanup --after-request http://api/x?token=abc&v=2#top --yes --redis redis://:pw@r:6379 --db /data/db.duckdb';
	assert.equal(
		redactUrls(line),
		'duckdb-lock-cleanup --after-request http://api/x?token=***&v=***#top --yes --redis redis://:***@r:6379 --db /data/db.duckdb',
	);
	assert.equal(
		redactUrls('x --before-request http://a/p?k=s3cret --yes --db /d.duckdb'),
		'x --before-request http://a/p?k=*** --yes --db /d.duckdb',
	);
	assert.equal(redactUrls('no URL here ?a=b'), 'no URL here ?a=b');
	assert.equal(redactUrls('https://h/p'), 'https://h/p');
});
