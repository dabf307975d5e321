// The snapshot a checkpoint save hands its thread: the same states the codec would read from the
// robots themselves, carried as locations in a few shared memories rather than one per block.

import { expect, it } from 'vitest';
import { robotState } from '../../src/projections/checkpoint/codec.js';
import { robotStates, snapshotRobots } from '../../src/projections/checkpoint/shared-snapshot.js';
import { RobotProjection } from '../../src/projections/robot-projection.js';

function robot(name: string, events: number): RobotProjection {
  const p = new RobotProjection(name, 4);
  for (let from = 0; from < events; from += 3) {
    const n = Math.min(3, events - from);
    const chunk = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) chunk.set([from + i, (from + i) % 7, 10 * (from + i)], i * 3);
    p.apply(from, chunk);
  }
  return p;
}

it('carries every robot and span, in order, as views the thread rebuilds over the same memory', () => {
  const adopted = RobotProjection.adopt('adopted', Float64Array.of(1, 2, 3), Float64Array.of(0, 4, 9), 5, 6);
  const robots = [robot('a', 1000), robot('b', 1), adopted, robot('c', 5000)];
  robots[2]!.apply(3, Float64Array.of(8, 8, 4));
  const snapshot = snapshotRobots(robots);
  const states = robotStates(structuredClone(snapshot));
  expect(states.map((state) => state.name)).toEqual(['a', 'b', 'adopted', 'c']);
  robots.forEach((p, i) => {
    const want = robotState(p);
    const got = states[i]!;
    expect({ ...got, timestamps: undefined, cumulative: undefined }).toEqual({ ...want, timestamps: undefined, cumulative: undefined });
    expect(got.timestamps.map((span) => Array.from(span))).toEqual(want.timestamps.map((span) => Array.from(span)));
    expect(got.cumulative.map((span) => Array.from(span))).toEqual(want.cumulative.map((span) => Array.from(span)));
  });
  // Shared, not copied: what is written in the robot's memory shows through the clone's views.
  const blocks = robots[0]!.spans().timestamps;
  expect(blocks.length).toBeGreaterThan(10);
  blocks[3]![1] = -1;
  expect(states[0]!.timestamps[3]![1]).toBe(-1);
  // Dozens of blocks per robot, yet only the live slabs (and the adopted arrays' own memory) cross.
  expect(snapshot.memory.length).toBeLessThanOrEqual(4);
});

it('carries each robot from the revision the save starts at, leaving out robots with nothing new', () => {
  const robots = [robot('a', 1000), robot('b', 10), robot('c', 5000)];
  const from = new Map([['a', 0], ['b', 10], ['c', 4321]]);
  const states = robotStates(structuredClone(snapshotRobots(robots, (p) => from.get(p.name)!)));
  expect(states.map((state) => [state.name, state.from, state.count])).toEqual([
    ['a', 0, 1000],
    ['c', 4321, 679],
  ]);
  const c = robots[2]!;
  const joined = (spans: readonly Float64Array[]) => spans.flatMap((span) => Array.from(span));
  expect(joined(states[1]!.timestamps)).toEqual(Array.from(c.copyTimestamps(4321, 5000)));
  expect(joined(states[1]!.cumulative)).toEqual(Array.from({ length: 679 }, (_, i) => c.cumulativeAt(4321 + i)));
  expect(() => robotStates(snapshotRobots(robots, () => 11))).toThrow(/"b" holds 10 events; cannot save from revision 11/);
});
