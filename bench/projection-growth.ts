// What applying a commit round costs the event loop when a fleet reports at one pace: R robots, E
// events each per round, applied round after round as live commits are. Every robot's arrays
// growing by one factor (the peer, measured in the same run) against the projection's own factors
// spread by robot name: the total work is alike, the worst rounds are not.
//
//   npx tsx bench/projection-growth.ts [--robots 1000] [--per-round 4] [--rounds 2500]

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EVENT_STRIDE } from '../src/domain/location.js';
import { RobotProjection } from '../src/projections/robot-projection.js';

export interface GrowthResult {
  readonly growth: string;
  readonly round_p50_ms: number;
  readonly round_p99_ms: number;
  readonly round_max_ms: number;
  readonly total_ms: number;
}

export function measureGrowth(robots: number, perRound: number, rounds: number, oneFactor?: number): GrowthResult {
  const projections = Array.from({ length: robots }, (_, r) =>
    oneFactor === undefined ? new RobotProjection(`robot-${r}`) : new RobotProjection(`robot-${r}`, 16, oneFactor),
  );
  const events = new Float64Array(perRound * EVENT_STRIDE);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let r = 0; r < robots; r++) {
      for (let k = 0; k < perRound; k++) {
        events[k * EVENT_STRIDE] = round + k;
        events[k * EVENT_STRIDE + 1] = r;
        events[k * EVENT_STRIDE + 2] = round * perRound + k;
      }
      projections[r]!.apply(round * perRound, events);
    }
    times.push(performance.now() - started);
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * q))]! * 100) / 100;
  return {
    growth: oneFactor === undefined ? 'by robot name (1.3-1.5)' : `one factor (${oneFactor})`,
    round_p50_ms: at(0.5),
    round_p99_ms: at(0.99),
    round_max_ms: at(1),
    total_ms: Math.round(total),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      robots: { type: 'string', default: '1000' },
      'per-round': { type: 'string', default: '4' },
      rounds: { type: 'string', default: '2500' },
    },
  });
  const [robots, perRound, rounds] = [Number(values.robots), Number(values['per-round']), Number(values.rounds)];
  // Alternating, twice each: this VM's speed drifts between runs seconds apart.
  const results = [1, 2].flatMap(() => [measureGrowth(robots, perRound, rounds, 1.5), measureGrowth(robots, perRound, rounds)]);
  console.log(JSON.stringify({ robots, per_round: perRound, rounds, results }, null, 2));
}
