// The fleet's read models taking committed chunks: as chunk objects and as columns (the embedded
// log's own commits) they end in the same state, whatever the chunking.

import { expect, it } from 'vitest';
import { Projections } from '../../src/projections/projections.js';
import { RobotProjection } from '../../src/projections/robot-projection.js';
import { columnsToChunks, type ChunkColumns } from '../../src/store/event-log.js';
import { mulberry32, randomInt } from '../../bench/lib/random.js';

/** Rounds of a small fleet as columns over one events array, positions contiguous from `position`. */
function rounds(seed: number): ChunkColumns[] {
  const random = mulberry32(seed);
  const revisions = new Map<string, number>();
  const out: ChunkColumns[] = [];
  let position = 0;
  for (let r = 0; r < 40; r++) {
    const robots = ['a', 'b', 'c', 'd'].filter(() => random() < 0.7);
    const counts = Int32Array.from(robots, () => randomInt(random, 1, 9));
    const eventStarts = new Int32Array(robots.length);
    const total = counts.reduce((sum, n) => sum + n, 0);
    const events = new Float64Array((total + 3) * 3); // spare room after the last chunk, as a round's columns have
    let at = 0;
    robots.forEach((robot, i) => {
      eventStarts[i] = at;
      const first = revisions.get(robot) ?? 0;
      for (let k = 0; k < counts[i]!; k++) events.set([random() * 50, random() * 50, first + k], (at + k) * 3);
      at += counts[i]!;
    });
    out.push({
      count: robots.length,
      streams: robots,
      firstRevisions: Float64Array.from(robots, (robot) => revisions.get(robot) ?? 0),
      positions: Float64Array.from(robots, () => ++position),
      eventStarts,
      counts,
      events,
    });
    robots.forEach((robot, i) => revisions.set(robot, (revisions.get(robot) ?? 0) + counts[i]!));
  }
  return out;
}

it('applies columns exactly as it applies the same chunks as objects', () => {
  const byColumns = new Projections();
  const byChunks = new Projections();
  for (const columns of rounds(5)) {
    byColumns.applyColumns(columns);
    byChunks.apply(columnsToChunks(columns));
  }
  expect(byColumns.position).toBe(byChunks.position);
  expect(byColumns.eventCount).toBe(byChunks.eventCount);
  expect(byColumns.list()).toEqual(byChunks.list());
  for (const { name, event_count } of byChunks.list()) {
    expect(byColumns.get(name)!.copyTimestamps(0, event_count)).toEqual(byChunks.get(name)!.copyTimestamps(0, event_count));
  }
  expect(byChunks.eventCount).toBeGreaterThan(100);
});

it('reads a robot’s events from the middle of a shared array, by offset and count', () => {
  const shared = Float64Array.of(9, 9, 9, 0, 0, 1, 3, 4, 2, 3, 0, 3, 7, 7, 7);
  const p = new RobotProjection('r');
  p.apply(0, shared, 1, 3);
  expect(p.eventCount).toBe(3);
  expect(p.odometer(0, 10)).toBe(9);
  expect(Array.from(p.copyTimestamps(0, 3))).toEqual([1, 2, 3]);
  p.apply(1, shared, 2, 2); // a replay of what it has
  expect(p.eventCount).toBe(3);
});
