/**
 * Lease benchmarks, side by side in one run:
 * - a file heartbeat (open, read and check the token, futimes) against a bare utimes of the same file;
 * - the Redis backend: acquire+release (connect, SET NX PX, the PID file, compare-and-delete, disconnect) against
 *   bare ioredis connect + SET NX PX + DEL + disconnect, and one renewal against a bare PEXPIRE, on a local
 *   redis-server started here.
 */
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { acquireLock } from '../lib/lock/pid-file-lock';
import { takeDatabaseLock } from '../lib/lock/take-lock';
import { tempDir } from '../test/helpers/processes';
import { startRedis } from '../test/helpers/redis';
import { line, median, nowUs } from './stats';

export async function benchLease(): Promise<void> {
	const dir = tempDir('duckdb-safe-ingest-bench-lease-');
	const redis = await startRedis({ untracked: true });
	try {
		const db = join(dir.path, 'bench.duckdb');
		const held = await acquireLock(db);
		if (!held.acquired) throw new Error('benchmark lock unexpectedly held');
		const heartbeats: number[] = [];
		const touches: number[] = [];
		for (let i = 0; i < 3000; i++) {
			let start = nowUs();
			const now = new Date();
			utimesSync(held.lock.pidFile, now, now);
			touches.push(nowUs() - start);
			start = nowUs();
			if (!held.lock.heartbeat()) throw new Error('heartbeat lost');
			heartbeats.push(nowUs() - start);
		}
		held.lock.release();
		const heartbeatUs = median(heartbeats.slice(500));
		const touchUs = median(touches.slice(500));
		line('lease file heartbeat', { median_us: heartbeatUs, bare_utimes_us: touchUs, ratio: heartbeatUs / touchUs });

		const ours: number[] = [];
		const bare: number[] = [];
		const renewals: number[] = [];
		const pexpires: number[] = [];
		for (let i = 0; i < 300; i++) {
			let start = nowUs();
			const client = new Redis(redis.url, { lazyConnect: true });
			await client.connect();
			await client.set('bench:bare', 'token', 'PX', 60_000, 'NX');
			await client.del('bench:bare');
			client.disconnect();
			bare.push(nowUs() - start);

			start = nowUs();
			const taken = await takeDatabaseLock(db, { redis: { url: redis.url, key: 'bench' } });
			if (!taken.acquired) throw new Error('benchmark Redis lock unexpectedly held');
			const acquiredAt = nowUs();
			const renewal = await taken.lock.renew();
			renewals.push(nowUs() - acquiredAt);
			if (!renewal.ok) throw new Error(renewal.detail);
			const released = await taken.lock.release();
			if (!released.released) throw new Error('benchmark Redis lock not released');
			ours.push(nowUs() - start - renewals[renewals.length - 1]);

			const direct = new Redis(redis.url, { lazyConnect: true });
			await direct.connect();
			await direct.set('bench:bare', 'token', 'PX', 60_000);
			start = nowUs();
			await direct.pexpire('bench:bare', 60_000);
			pexpires.push(nowUs() - start);
			direct.disconnect();
		}
		const oursMs = median(ours.slice(50)) / 1000;
		const bareMs = median(bare.slice(50)) / 1000;
		line('lease redis acquire+release', { median_ms: oursMs, bare_connect_set_del_ms: bareMs, ratio: oursMs / bareMs });
		const renewMs = median(renewals.slice(50)) / 1000;
		const pexpireMs = median(pexpires.slice(50)) / 1000;
		line('lease redis renewal', { median_ms: renewMs, bare_pexpire_ms: pexpireMs, ratio: renewMs / pexpireMs });
	} finally {
		await redis.stop();
		dir.remove();
	}
}
