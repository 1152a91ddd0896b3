/** `npm run bench`: every benchmark of the package, each printing `bench <name>: key=value ...` lines. */
import { benchLock } from './lock';
import { benchRun } from './run';
import { benchHolders } from './holders';
import { benchIngest } from './ingest';
import { benchLease } from './lease';
import { benchFast } from './fast';
import { benchInsertRows } from './insert-rows';

async function main(): Promise<void> {
	const only = process.argv[2];
	const suites: Record<string, () => Promise<void>> = {
		lock: benchLock,
		run: benchRun,
		holders: benchHolders,
		ingest: benchIngest,
		lease: benchLease,
		fast: benchFast,
		'insert-rows': benchInsertRows,
	};
	for (const [name, run] of Object.entries(suites)) {
		if (!only || only === name) await run();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
