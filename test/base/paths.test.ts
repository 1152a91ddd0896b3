/** realPathOf: what a path really is, links followed, also for a path that does not exist (yet). Real files. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { realPathOf } from '../../lib/base/paths';
import { tempDir } from '../helpers/processes';

const dir = tempDir();
after(() => dir.remove());
const root = realpathSync(dir.path);

test('an existing path: links in any part are followed', () => {
	mkdirSync(join(root, 'real', 'inner'), { recursive: true });
	symlinkSync(join(root, 'real'), join(root, 'link'));
	assert.equal(realPathOf(join(root, 'link', 'inner')), join(root, 'real', 'inner'));
	assert.equal(
		realPathOf(join(root, 'link', '..', 'link')),
		join(root, 'real'),
		'.. is resolved first, as path.resolve does',
	);
});

test('a missing path: its nearest existing ancestor resolved, the rest appended', () => {
	assert.equal(realPathOf(join(root, 'link', 'new', 'db.duckdb')), join(root, 'real', 'new', 'db.duckdb'));
	assert.equal(realPathOf('/no-such-folder-8c1f/x'), '/no-such-folder-8c1f/x');
});

test('a link to nothing counts as missing: the link itself is kept, under its real folder', () => {
	symlinkSync(join(root, 'nowhere'), join(root, 'link', 'dangling'));
	assert.equal(realPathOf(join(root, 'link', 'dangling')), join(root, 'real', 'dangling'));
});
