#!/usr/bin/env node
// Screenshot of a workflow in a running `npm run demo -- --ui` instance (headless Chromium via playwright-core).
// playwright-core is NOT a dependency of this package: install it outside the repo, e.g.
//   mkdir -p /tmp/pw && (cd /tmp/pw && npm init -y && npm install playwright-core)
//   DEMO_UI_READY_FILE=/tmp/ui.json npm run demo -- --ui &      # writes {base,email,password} when ready
//   PLAYWRIGHT_CORE=/tmp/pw/node_modules/playwright-core node scripts/e2e/screenshot.mjs /tmp/ui.json duckdbBinanceIngest docs/workflow.png
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [readyFile, workflowId = 'duckdbBinanceIngest', out = 'docs/workflow.png'] = process.argv.slice(2);
const { base, email, password } = JSON.parse(readFileSync(readyFile, 'utf8'));
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ?? '/tmp/pw/node_modules/playwright-core');

// playwright passes --user-data-dir itself (a fresh temp dir) and --headless.
const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'chromium-')), {
	executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
	headless: true,
	viewport: { width: 1600, height: 900 },
	args: [
		'--no-sandbox',
		'--disable-gpu',
		'--disable-quic',
		'--no-first-run',
		'--disable-background-networking',
		'--disable-component-update',
		'--disable-sync',
	],
});
try {
	const login = await context.request.post(`${base}/rest/login`, {
		data: { emailOrLdapLoginId: email, email, password },
	});
	console.log(`login: HTTP ${login.status()}`);
	const page = await context.newPage();
	await page.goto(`${base}/workflow/${workflowId}`, { waitUntil: 'networkidle', timeout: 90_000 });
	await page.waitForSelector('.vue-flow__node', { timeout: 60_000 });
	await page.waitForTimeout(2000);
	// Close any modal/toast that may cover the canvas, then fit the view.
	await page.keyboard.press('Escape');
	await page.keyboard.press('1').catch(() => {});
	await page.waitForTimeout(1000);
	await page.screenshot({ path: out });
	console.log(`saved ${out} (${await page.locator('.vue-flow__node').count()} nodes on the canvas)`);
} finally {
	await context.close();
}
