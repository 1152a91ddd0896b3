/**
 * One side of the run-overhead benchmark, run in whatever PID namespace it is started in (bench/fast.ts starts it
 * directly and under `unshare --pid --fork --mount-proc`, as n8n runs in a container): `true` through runUnderLock
 * on an existing database against a bare spawn of `true`, alternating, in this one process.
 * Prints {"supervisedMs":median,"bareMs":median}.
 */
import { spawn } from 'node:child_process';
import { runUnderLock } from '../lib/run/supervise';
import { median, nowUs } from './stats';

function bareSpawn(): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
		child.stdout.resume();
		child.stderr.resume();
		child.once('error', reject);
		child.once('close', () => resolve());
	});
}

async function main(): Promise<void> {
	const [databasePath, roundsText] = process.argv.slice(2);
	const rounds = Number(roundsText);
	// Warm-up: the modules, and whatever a first run starts.
	for (let i = 0; i < 3; i++) await runUnderLock({ databasePath, command: ['true'] });
	const supervised: number[] = [];
	const bare: number[] = [];
	for (let i = 0; i < rounds; i++) {
		let start = nowUs();
		await bareSpawn();
		bare.push(nowUs() - start);
		start = nowUs();
		const outcome = await runUnderLock({ databasePath, command: ['true'] });
		if (outcome.status !== 'success') throw new Error(outcome.summary);
		supervised.push(nowUs() - start);
	}
	process.stdout.write(
		`${JSON.stringify({ supervisedMs: median(supervised) / 1000, bareMs: median(bare) / 1000 })}\n`,
		() => process.exit(0),
	);
}

void main();
