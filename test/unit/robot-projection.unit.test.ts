// One robot's read model: odometer over any time range, revision ranges, summary, idempotent
// re-apply of overlapping chunks, and adoption of arrays built by a rebuild worker.

import { describe, expect, it } from 'vitest';
import { distance, pathLength } from '../../src/domain/distance.js';
import { growthFactor, MAX_BLOCK_EVENTS, RobotProjection } from '../../src/projections/robot-projection.js';
import { mulberry32, randomInt } from '../../bench/lib/random.js';

type Event = readonly [x: number, y: number, t: number];

function pack(events: readonly Event[]): Float64Array {
  return Float64Array.from(events.flat());
}

function closeTo(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
}

// The original system's case: there and back again.
const THERE_AND_BACK: Event[] = [
  [0, 0, 0],
  [1, 0, 1],
  [0, 0, 2],
];

describe('RobotProjection: the original case', () => {
  function projection(): RobotProjection {
    const p = new RobotProjection('robot-1');
    p.apply(0, pack(THERE_AND_BACK));
    return p;
  }

  it('measures 2 over all events', () => {
    expect(projection().odometer(0, 2)).toBe(2);
    expect(projection().odometer(0, Number.MAX_SAFE_INTEGER)).toBe(2);
  });

  it('measures 1 over [0, 1] and 0 over [1, 1]', () => {
    const p = projection();
    expect(p.odometer(0, 1)).toBe(1);
    expect(p.odometer(1, 2)).toBe(1);
    expect(p.odometer(1, 1)).toBe(0);
    expect(p.odometer(2, 2)).toBe(0);
  });

  it('summarises the stream', () => {
    expect(projection().summary()).toEqual({
      name: 'robot-1',
      odometer: 2,
      first_timestamp: 0,
      last_timestamp: 2,
      last_x: 0,
      last_y: 0,
      event_count: 3,
    });
  });

  it('maps time ranges to revision ranges [first, end)', () => {
    const p = projection();
    expect(p.range(0, 2)).toEqual({ first: 0, end: 3 });
    expect(p.range(0, 1)).toEqual({ first: 0, end: 2 });
    expect(p.range(1, 1)).toEqual({ first: 1, end: 2 });
    expect(p.range(3, 10)).toEqual({ first: 3, end: 3 });
  });

  it('knows its event count and each event timestamp', () => {
    const p = projection();
    expect(p.eventCount).toBe(3);
    expect([0, 1, 2].map((r) => p.timestampAt(r))).toEqual([0, 1, 2]);
  });
});

describe('RobotProjection: ranges', () => {
  const p = new RobotProjection('r');
  p.apply(
    0,
    pack([
      [0, 0, 10],
      [3, 4, 20],
      [3, 0, 30],
      [0, 0, 40],
    ]),
  );

  it('is empty before the first and after the last event', () => {
    expect(p.range(0, 9)).toEqual({ first: 0, end: 0 });
    expect(p.range(41, 100)).toEqual({ first: 4, end: 4 });
    expect(p.odometer(0, 9)).toBe(0);
    expect(p.odometer(41, 100)).toBe(0);
  });

  it('includes both bounds', () => {
    expect(p.range(20, 30)).toEqual({ first: 1, end: 3 });
    expect(p.odometer(20, 30)).toBe(4);
    expect(p.odometer(10, 20)).toBe(5);
    expect(p.odometer(10, 40)).toBe(12);
  });

  it('counts only events inside bounds that fall between timestamps', () => {
    expect(p.range(11, 39)).toEqual({ first: 1, end: 3 });
    expect(p.odometer(11, 39)).toBe(4);
    expect(p.range(21, 29)).toEqual({ first: 2, end: 2 });
    expect(p.odometer(21, 29)).toBe(0);
  });

  it('gives an empty range for reversed bounds', () => {
    const r = p.range(30, 20);
    expect(r.end - r.first).toBe(0);
    expect(p.odometer(30, 20)).toBe(0);
  });
});

describe('RobotProjection: apply', () => {
  it('skips an overlapping re-apply, so replays are idempotent', () => {
    const p = new RobotProjection('r');
    p.apply(0, pack(THERE_AND_BACK));
    p.apply(0, pack(THERE_AND_BACK));
    p.apply(1, pack(THERE_AND_BACK.slice(1)));
    p.apply(3, new Float64Array(0));
    expect(p.eventCount).toBe(3);
    expect(p.summary()).toMatchObject({ odometer: 2, event_count: 3, last_timestamp: 2 });
  });

  it('applies only the new tail of a chunk that overlaps what it has', () => {
    const p = new RobotProjection('r');
    p.apply(0, pack(THERE_AND_BACK.slice(0, 2)));
    p.apply(1, pack([...THERE_AND_BACK.slice(1), [0, 5, 3]]));
    expect(p.eventCount).toBe(4);
    expect(p.summary()).toMatchObject({ odometer: 7, last_x: 0, last_y: 5, last_timestamp: 3, event_count: 4 });
  });

  it('throws on a gap (firstRevision beyond its event count) and keeps its state', () => {
    const p = new RobotProjection('robot-7');
    expect(() => p.apply(1, pack(THERE_AND_BACK))).toThrow(/robot-7 has 0 events; cannot apply revision 1/);
    p.apply(0, pack(THERE_AND_BACK));
    expect(() => p.apply(4, pack([[9, 9, 9]]))).toThrow(/has 3 events; cannot apply revision 4/);
    expect(p.eventCount).toBe(3);
    expect(p.odometer(0, 100)).toBe(2);
  });

  it('continues the distance from the last position across chunks', () => {
    const p = new RobotProjection('r');
    p.apply(0, pack([[0, 0, 1]]));
    p.apply(1, pack([[3, 4, 2]]));
    p.apply(2, pack([[3, 0, 3]]));
    expect(p.odometer(0, 3)).toBe(9);
  });

  it('keeps every value when growing past its initial capacity', () => {
    const events: Event[] = Array.from({ length: 1000 }, (_, i) => [i, 0, i * 2]);
    const oneByOne = new RobotProjection('a', 1);
    events.forEach((e, i) => oneByOne.apply(i, pack([e])));
    const atOnce = new RobotProjection('b', 2);
    atOnce.apply(0, pack(events));
    for (const p of [oneByOne, atOnce]) {
      expect(p.eventCount).toBe(1000);
      for (let i = 0; i < 1000; i++) expect(p.timestampAt(i)).toBe(i * 2);
      expect(p.odometer(0, 2000)).toBe(999);
      expect(p.odometer(100, 200)).toBe(50);
      expect(p.summary()).toMatchObject({ first_timestamp: 0, last_timestamp: 1998, last_x: 999, event_count: 1000 });
    }
  });

  it('works from an initial capacity of 0', () => {
    const p = new RobotProjection('r', 0);
    p.apply(0, pack(THERE_AND_BACK));
    expect(p.odometer(0, 2)).toBe(2);
  });
});

describe('RobotProjection: growth', () => {
  it('spreads growth factors over a fleet, each between 1.3 and 1.5', () => {
    const factors = Array.from({ length: 1000 }, (_, r) => growthFactor(`robot-${r}`));
    for (const factor of factors) {
      expect(factor).toBeGreaterThanOrEqual(1.3);
      expect(factor).toBeLessThan(1.5);
    }
    expect(new Set(factors).size).toBeGreaterThan(500);
    expect(growthFactor('robot-7')).toBe(growthFactor(['robot', '7'].join('-'))); // by name, not by chance
  });

  it('lets robots at one pace outgrow their arrays in different rounds once past their first growth, holding at most 1.5× their events', () => {
    const robots = Array.from({ length: 100 }, (_, r) => new RobotProjection(`robot-${r}`));
    let sharedGrowths = 0;
    for (let round = 0; round < 500; round++) {
      const before = robots.map((p) => p.byteSize);
      for (const p of robots) p.apply(round, pack([[round, 0, round]]));
      const grown = robots.filter((p, i) => p.byteSize !== before[i]).length;
      // All start at the same capacity, so the first growth is shared; after it they drift apart.
      if (round > 60) sharedGrowths = Math.max(sharedGrowths, grown);
      for (const p of robots) if (p.eventCount > 16) expect(p.byteSize).toBeLessThanOrEqual(1.5 * 16 * p.eventCount + 32);
    }
    // With one factor all 100 grow in the same rounds; spread, far fewer do.
    expect(sharedGrowths).toBeLessThanOrEqual(20);
    const one = Array.from({ length: 100 }, (_, r) => new RobotProjection(`robot-${r}`, 16, 1.5));
    let together = 0;
    for (let round = 0; round < 500; round++) {
      const before = one.map((p) => p.byteSize);
      for (const p of one) p.apply(round, pack([[round, 0, round]]));
      if (round > 60) together = Math.max(together, one.filter((p, i) => p.byteSize !== before[i]).length);
    }
    expect(together).toBe(100);
  });
});

describe('RobotProjection: blocks', () => {
  /** `n` events of a walk along x with timestamps 10, 20, …, applied `chunk` at a time. */
  function walk(name: string, n: number, chunk: number, initialCapacity = 16): RobotProjection {
    const p = new RobotProjection(name, initialCapacity);
    for (let from = 0; from < n; from += chunk) {
      const events: Event[] = [];
      for (let i = from; i < Math.min(n, from + chunk); i++) events.push([i * 2, 0, (i + 1) * 10]);
      p.apply(from, pack(events));
    }
    return p;
  }

  it('answers every revision and every range across block boundaries, whatever the chunking', () => {
    const n = 3000;
    for (const chunk of [1, 7, 64, 3000]) {
      const p = walk(`robot-${chunk}`, n, chunk, 5);
      expect(p.eventCount).toBe(n);
      for (let r = 0; r < n; r++) {
        expect(p.timestampAt(r)).toBe((r + 1) * 10);
        expect(p.cumulativeAt(r)).toBe(r * 2);
      }
      // Bounds on, between, before and after events, at every block's edges among them.
      const { timestamps } = p.spans();
      let edge = 0;
      for (const block of timestamps) {
        for (const r of [edge - 1, edge, edge + 1, edge + block.length - 1]) {
          if (r < 0 || r >= n) continue;
          const t = (r + 1) * 10;
          expect(p.range(t, t)).toEqual({ first: r, end: r + 1 });
          expect(p.range(t - 5, t + 5)).toEqual({ first: r, end: r + 1 });
          expect(p.range(t + 1, t + 9)).toEqual({ first: r + 1, end: r + 1 });
          expect(p.odometer(t, t + 10)).toBe(r + 1 < n ? 2 : 0);
          expect(p.odometer(0, t)).toBe(r * 2);
        }
        edge += block.length;
      }
      expect(timestamps.length).toBeGreaterThan(5);
      expect(p.range(0, 5)).toEqual({ first: 0, end: 0 });
      expect(p.range(n * 10 + 1, Infinity)).toEqual({ first: n, end: n });
      expect(Array.from(p.copyTimestamps(1234, 1240))).toEqual([12350, 12360, 12370, 12380, 12390, 12400]);
      expect(p.copyTimestamps(n - 2, n + 10).length).toBe(2);
      expect(p.copyTimestamps(n + 1, n + 10).length).toBe(0);
    }
  });

  it('hands out its events as views of shared memory that later events never change', () => {
    const p = walk('r', 500, 13);
    const before = p.spans();
    const copies = before.timestamps.map((block) => Array.from(block));
    const cumulative = before.cumulative.map((block) => Array.from(block));
    expect(before.timestamps.reduce((sum, block) => sum + block.length, 0)).toBe(500);
    for (const block of [...before.timestamps, ...before.cumulative]) expect(block.buffer).toBeInstanceOf(SharedArrayBuffer);
    p.apply(500, pack(Array.from({ length: 2000 }, (_, i): Event => [-i, 7, 6000 + i])));
    expect(before.timestamps.map((block) => Array.from(block))).toEqual(copies);
    expect(before.cumulative.map((block) => Array.from(block))).toEqual(cumulative);
    expect(p.spans().timestamps.reduce((sum, block) => sum + block.length, 0)).toBe(2500);
  });

  it('caps a large initial capacity at one block of MAX_BLOCK_EVENTS', () => {
    const p = new RobotProjection('eager', 4 * MAX_BLOCK_EVENTS);
    expect(p.byteSize).toBe(16 * MAX_BLOCK_EVENTS);
    p.apply(0, pack([[0, 0, 1], [3, 4, 2]]));
    expect(p.odometer(0, 2)).toBe(5);
  });

  it('adds blocks of at most MAX_BLOCK_EVENTS, holding at most 1.5× its events and one block', () => {
    const n = 5 * MAX_BLOCK_EVENTS + 123;
    const p = walk('long', n, 10_000);
    const { timestamps } = p.spans();
    expect(Math.max(...timestamps.map((block) => block.length))).toBe(MAX_BLOCK_EVENTS);
    expect(p.byteSize).toBeLessThanOrEqual(16 * (1.5 * n + MAX_BLOCK_EVENTS));
    expect(p.timestampAt(n - 1)).toBe(n * 10);
    expect(p.odometer(0, Infinity)).toBe((n - 1) * 2);
  });
});

describe('RobotProjection.adopt', () => {
  it('keeps adopted arrays in shared memory as they are, and copies others into it', () => {
    const shared = new Float64Array(new SharedArrayBuffer(24));
    shared.set([0, 1, 2]);
    const kept = RobotProjection.adopt('shared', shared, shared.slice(), 0, 0);
    expect(kept.spans().timestamps[0]!.buffer).toBe(shared.buffer);
    const copied = RobotProjection.adopt('private', Float64Array.of(0, 1, 2), Float64Array.of(0, 1, 2), 0, 0);
    for (const block of [...copied.spans().timestamps, ...copied.spans().cumulative]) expect(block.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(copied.odometer(0, 2)).toBe(2);
  });

  it('refuses arrays of different lengths', () => {
    expect(() => RobotProjection.adopt('odd', Float64Array.of(0, 1), Float64Array.of(0), 0, 0)).toThrow(/2 timestamps but 1 distances/);
  });

  it('serves arrays built elsewhere and keeps applying after them', () => {
    const ts = Float64Array.of(0, 1, 2);
    const cum = Float64Array.of(0, 1, 2);
    const p = RobotProjection.adopt('rebuilt', ts, cum, 0, 0);
    expect(p.eventCount).toBe(3);
    expect(p.summary()).toEqual({
      name: 'rebuilt',
      odometer: 2,
      first_timestamp: 0,
      last_timestamp: 2,
      last_x: 0,
      last_y: 0,
      event_count: 3,
    });
    expect(p.odometer(0, 1)).toBe(1);

    p.apply(2, pack([[0, 0, 2], [3, 4, 3], [3, 0, 4]]));
    expect(p.eventCount).toBe(5);
    expect(p.odometer(0, 4)).toBe(11);
    expect(p.odometer(2, 3)).toBe(5);
    expect(p.summary()).toMatchObject({ last_x: 3, last_y: 0, last_timestamp: 4, event_count: 5 });
  });
});

describe('RobotProjection against a naive model (seeded)', () => {
  it('matches naive odometer and ranges for a 2,000-event random walk applied in random chunks', () => {
    const random = mulberry32(20240601);
    const events: Event[] = [];
    let x = 0;
    let y = 0;
    let t = randomInt(random, 0, 1000);
    for (let i = 0; i < 2000; i++) {
      x += (random() - 0.5) * 10;
      y += (random() - 0.5) * 10;
      t += randomInt(random, 1, 5);
      events.push([x, y, t]);
    }

    const p = new RobotProjection('walker', 4);
    let applied = 0;
    while (applied < events.length) {
      // Sometimes replay from a little before what is applied, as a resubscribing follower would.
      const from = random() < 0.3 ? Math.max(0, applied - randomInt(random, 1, 20)) : applied;
      const to = Math.min(events.length, applied + randomInt(random, 1, 120));
      p.apply(from, pack(events.slice(from, to)));
      applied = to;
      expect(p.eventCount).toBe(applied);
    }

    const all = pack(events);
    expect(closeTo(p.summary().odometer, pathLength(all))).toBe(true);
    expect(p.summary()).toMatchObject({
      first_timestamp: events[0]![2],
      last_timestamp: events[1999]![2],
      last_x: events[1999]![0],
      last_y: events[1999]![1],
      event_count: 2000,
    });

    const firstT = events[0]![2];
    const lastT = events[1999]![2];
    for (let k = 0; k < 200; k++) {
      // Mix bounds that fall on event timestamps with bounds between and beyond them.
      const pick = (): number =>
        random() < 0.5 ? events[randomInt(random, 0, 1999)]![2] : randomInt(random, firstT - 20, lastT + 20);
      const a = Math.max(0, pick());
      const b = Math.max(0, pick());
      const start = Math.min(a, b);
      const end = Math.max(a, b);

      let first = events.findIndex((e) => e[2] >= start);
      if (first < 0) first = events.length;
      let stop = first;
      while (stop < events.length && events[stop]![2] <= end) stop++;
      let expected = 0;
      for (let i = first + 1; i < stop; i++) {
        expected += distance(events[i - 1]![0], events[i - 1]![1], events[i]![0], events[i]![1]);
      }

      const label = `[${start}, ${end}]`;
      expect(p.range(start, end), label).toEqual({ first, end: stop });
      const actual = p.odometer(start, end);
      expect(closeTo(actual, expected), `${label}: ${actual} vs ${expected}`).toBe(true);
    }
  });
});
