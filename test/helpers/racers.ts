/**
 * N real processes racing for one lock, released at the same instant (each spins until a shared start time).
 * Used by the race tests and by the benchmark.
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { nodeChild, type JsonChild } from './processes';
import { pidFilePathFor } from '../../lib/lock/pid-file-format';

export interface RaceResult {
	winners: number;
	recoveredCount: number;
	/** From the common start instant to the last racer's decision. */
	decisionMs: number;
	stalenessReasons: string[];
}

type AcquireEvent = { acquired: boolean; recovered: Array<{ reason: string }>; decidedAt: number };

export class Racers {
	private constructor(readonly actors: JsonChild[]) {}

	static async start(count: number): Promise<Racers> {
		const actors = Array.from({ length: count }, () => nodeChild('lock-actor'));
		await Promise.all(actors.map((actor) => actor.next('ready', 60_000)));
		return new Racers(actors);
	}

	/** One round: everyone acquires `db` at the same instant; the winner releases afterwards. */
	async race(db: string, options: { staleFrom?: string } = {}): Promise<RaceResult> {
		if (options.staleFrom) writeFileSync(pidFilePathFor(db), options.staleFrom);
		const at = Date.now() + 150;
		for (const actor of this.actors) actor.send({ cmd: 'acquire', db, at });
		const events = await Promise.all(this.actors.map((actor) => actor.next<AcquireEvent>('acquire', 60_000)));
		const winners = events.filter((event) => event.acquired);
		const holderLine = Number(readFileSync(pidFilePathFor(db), 'utf8').split('\n')[0]);
		const winnerActors = this.actors.filter((_actor, index) => events[index].acquired);
		if (winnerActors.length === 1 && holderLine !== winnerActors[0].pid)
			throw new Error('the PID file does not name the winner');
		for (const actor of winnerActors) {
			actor.send({ cmd: 'release' });
			await actor.next('release');
		}
		const recovered = events.flatMap((event) => event.recovered);
		return {
			winners: winners.length,
			recoveredCount: recovered.length,
			decisionMs: Math.max(...events.map((event) => event.decidedAt)) - at,
			stalenessReasons: recovered.map((entry) => entry.reason),
		};
	}

	stop(): void {
		for (const actor of this.actors) actor.child.stdin!.end();
	}
}
