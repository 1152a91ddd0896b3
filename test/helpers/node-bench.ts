/**
 * The bench of the engine test files: our nodes executed by n8n's real WorkflowExecute (the line ENGINE_LINE names),
 * everything they touch under one temporary root, which is also the only folder n8n's file-access policy allows
 * (n8n 2.x restricts to ~/.n8n-files by default).
 */
import { after, afterEach, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALLOWLIST_ENV } from '../../lib/proc/allowlist';
import { loadEngine } from './engine';
import { LINE } from './engine-line';
import { stopAll } from './processes';

export function nodeBench(name: string) {
	const root = mkdtempSync(join(tmpdir(), `${name}-${LINE}-`));
	process.env.N8N_RESTRICT_FILE_ACCESS_TO = root;
	process.env.N8N_USER_FOLDER = mkdtempSync(join(tmpdir(), `n8n-user-${LINE}-`));
	const engine = loadEngine(LINE);
	let n = 0;
	before(() => delete process.env[ALLOWLIST_ENV]);
	afterEach(() => {
		delete process.env[ALLOWLIST_ENV];
		stopAll();
	});
	after(() => rmSync(root, { recursive: true, force: true }));
	return { line: LINE, root, engine, freshDb: (): string => join(root, `db${++n}.duckdb`) };
}
