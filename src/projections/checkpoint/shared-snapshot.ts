// What a checkpoint save hands its thread: every robot's state as locations in shared memory, not
// as views. Posting a view costs a serialised SharedArrayBuffer each, and a fleet's blocks are tens
// of thousands of views over a few slabs; here each live memory crosses once and every block is
// SPAN_FIELDS numbers, copied from the table each robot keeps, in one transferred array. With each
// robot goes the revision the segment being saved starts at: the thread writes only what follows.

import { SPAN_FIELDS, type RobotProjection } from '../robot-projection.js';
import { liveMemory } from '../shared-memory.js';
import type { RobotState } from './codec.js';

export interface SharedSnapshot {
  /** The shared memory the spans lie in, and its ids (shared-memory.ts), entry for entry. */
  readonly memory: SharedArrayBuffer[];
  readonly memoryIds: Float64Array<ArrayBuffer>;
  readonly names: string[];
  /** Per robot, ROBOT_FIELDS values: event count, last x, last y, first span, span count, first revision to save. */
  readonly robots: Float64Array<ArrayBuffer>;
  /** Per span, SPAN_FIELDS values: timestamps' memory id and byte offset, distances' memory id and byte offset, events. */
  readonly spans: Float64Array<ArrayBuffer>;
}

const ROBOT_FIELDS = 6;

/**
 * Records the robots' states as they are now; nothing of their events is copied. `from` says, per
 * robot, the first revision the save is to write (by default all of them).
 */
export function snapshotRobots(all: Iterable<RobotProjection>, from: (robot: RobotProjection) => number = () => 0): SharedSnapshot {
  const list = Array.from(all);
  let spanTotal = 0;
  for (const robot of list) spanTotal += robot.spanCount;
  const names = new Array<string>(list.length);
  const robots = new Float64Array(list.length * ROBOT_FIELDS);
  const spans = new Float64Array(spanTotal * SPAN_FIELDS);
  let span = 0;
  for (let r = 0; r < list.length; r++) {
    const robot = list[r]!;
    const [x, y] = robot.lastPosition();
    const count = robot.spanCount;
    const at = r * ROBOT_FIELDS;
    names[r] = robot.name;
    robots[at] = robot.eventCount;
    robots[at + 1] = x;
    robots[at + 2] = y;
    robots[at + 3] = span;
    robots[at + 4] = count;
    robots[at + 5] = from(robot);
    robot.copySpans(spans, span * SPAN_FIELDS);
    span += count;
  }
  const { ids, memory } = liveMemory();
  return { memory, memoryIds: Float64Array.from(ids), names, robots, spans };
}

/**
 * The snapshot's robots as the codec takes them: views of the shared memory, from each robot's first
 * revision to save on. Robots with nothing to save are left out.
 */
export function robotStates(snapshot: SharedSnapshot): RobotState[] {
  const { names, robots, spans } = snapshot;
  const memory = new Map<number, SharedArrayBuffer>();
  snapshot.memoryIds.forEach((id, i) => memory.set(id, snapshot.memory[i]!));
  const at = (id: number): SharedArrayBuffer => {
    const found = memory.get(id);
    if (found === undefined) throw new Error(`checkpoint snapshot names shared memory ${id}, which it does not carry`);
    return found;
  };
  const states: RobotState[] = [];
  for (let r = 0; r < names.length; r++) {
    const robot = r * ROBOT_FIELDS;
    const count = robots[robot]!;
    const from = robots[robot + 5]!;
    if (from > count) throw new RangeError(`robot ${JSON.stringify(names[r])} holds ${count} events; cannot save from revision ${from}`);
    if (from === count && from > 0) continue;
    const timestamps: Float64Array[] = [];
    const cumulative: Float64Array[] = [];
    const first = robots[robot + 3]!;
    let start = 0; // the revision the span starts at
    for (let s = first; s < first + robots[robot + 4]!; s++) {
      const span = s * SPAN_FIELDS;
      const length = spans[span + 4]!;
      const skip = Math.max(0, Math.min(length, from - start));
      start += length;
      if (skip === length) continue;
      timestamps.push(new Float64Array(at(spans[span]!), spans[span + 1]! + 8 * skip, length - skip));
      cumulative.push(new Float64Array(at(spans[span + 2]!), spans[span + 3]! + 8 * skip, length - skip));
    }
    states.push({ name: names[r]!, from, count: count - from, x: robots[robot + 1]!, y: robots[robot + 2]!, timestamps, cumulative });
  }
  return states;
}
