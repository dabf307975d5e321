// The generator's promises: the same seed gives the same tracks, every line is a valid event by the
// service's own parser, each robot's clock only moves forward, the fleet's lines come out in time
// order, and robots move like robots (bounded speed).

import { describe, expect, it } from 'vitest';
import { newParsedEvent, parseEventLine } from '../../src/domain/wire-format.js';
import { FleetTracks, fleetOptionsError, MAX_INTERVAL_MS, MAX_SPEED, MIN_INTERVAL_MS, robotName } from '../../src/tools/tracks.js';

function allLines(tracks: FleetTracks): string[] {
  const lines: string[] = [];
  for (let line = tracks.nextLine(); line !== null; line = tracks.nextLine()) lines.push(line);
  return lines;
}

function parse(line: string) {
  const event = newParsedEvent();
  const reason = parseEventLine(line, event);
  expect(reason, line).toBeNull();
  return { ...event };
}

describe('FleetTracks', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = allLines(new FleetTracks({ robots: 17, events: 3000, seed: 42 }));
    const b = allLines(new FleetTracks({ robots: 17, events: 3000, seed: 42 }));
    const c = allLines(new FleetTracks({ robots: 17, events: 3000, seed: 43 }));
    expect(a).toHaveLength(3000);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('writes the same bytes in chunks as line by line', () => {
    const lines = allLines(new FleetTracks({ robots: 5, events: 1001, seed: 9 }));
    const chunked = new FleetTracks({ robots: 5, events: 1001, seed: 9 });
    let text = '';
    for (let chunk = chunked.nextChunk(64); chunk !== ''; chunk = chunked.nextChunk(64)) text += chunk;
    expect(text).toBe(lines.map((line) => `${line}\n`).join(''));
    expect(chunked.done).toBe(true);
    expect(chunked.emitted).toBe(1001);
  });

  it('emits valid wire-format lines, every robot, per-robot increasing clocks, fleet in time order', () => {
    const robots = 40;
    const tracks = new FleetTracks({ robots, events: 8000, seed: 7, startTime: 1000 });
    const lines = allLines(tracks);
    const lastTime = new Map<string, number>();
    const count = new Map<string, number>();
    let previous = -Infinity;
    for (const line of lines) {
      const event = parse(line);
      expect(event.timestamp).toBeGreaterThanOrEqual(previous);
      previous = event.timestamp;
      const last = lastTime.get(event.robot);
      if (last !== undefined) {
        expect(event.timestamp - last).toBeGreaterThanOrEqual(MIN_INTERVAL_MS);
        expect(event.timestamp - last).toBeLessThanOrEqual(MAX_INTERVAL_MS);
      } else {
        expect(event.timestamp).toBeGreaterThanOrEqual(1000);
        expect(event.timestamp).toBeLessThan(1000 + MIN_INTERVAL_MS);
      }
      lastTime.set(event.robot, event.timestamp);
      count.set(event.robot, (count.get(event.robot) ?? 0) + 1);
    }
    expect([...count.keys()].sort()).toEqual([...tracks.names].sort());
    expect(new Set(tracks.names).size).toBe(robots);
    // Interleaved fairly: no robot reports more than the slowest possible rhythm allows ahead of another.
    const counts = [...count.values()];
    expect(Math.min(...counts)).toBeGreaterThan((8000 / robots) * (MIN_INTERVAL_MS / MAX_INTERVAL_MS) - 1);
  });

  it('reports every robot once before any robot reports twice', () => {
    const lines = allLines(new FleetTracks({ robots: 300, events: 300, seed: 3 }));
    expect(new Set(lines.map((line) => parse(line).robot)).size).toBe(300);
  });

  it('moves robots no faster than the top speed (plus millimetre rounding)', () => {
    const previous = new Map<string, { x: number; y: number; timestamp: number }>();
    let moved = 0;
    for (const line of allLines(new FleetTracks({ robots: 10, events: 5000, seed: 11 }))) {
      const event = parse(line);
      const last = previous.get(event.robot);
      if (last !== undefined) {
        const step = Math.hypot(event.x - last.x, event.y - last.y);
        const seconds = (event.timestamp - last.timestamp) / 1000;
        expect(step).toBeLessThanOrEqual(MAX_SPEED * seconds + 0.0015);
        if (step > 0) moved++;
      }
      previous.set(event.robot, event);
    }
    expect(moved).toBeGreaterThan(4000); // they do drive, not stand still
  });

  it('names robots validly, including a space and non-ASCII, with fixed-width numbers', () => {
    const names = Array.from({ length: 16 }, (_, i) => robotName(i, 16));
    expect(names).toContain('Dædalus-004');
    expect(names).toContain('Forklift 7-006');
    for (const name of names) parse(`0,0,0,${name}`);
    expect(robotName(999_999, 1_000_000)).toBe('Hopper-1000000');
  });

  it('refuses options it cannot honour, with the flag to fix', () => {
    expect(fleetOptionsError({ robots: 0, events: 10, seed: 1 })).toMatch(/--robots/);
    expect(fleetOptionsError({ robots: 2.5, events: 10, seed: 1 })).toMatch(/--robots/);
    expect(fleetOptionsError({ robots: 10, events: 0, seed: 1 })).toMatch(/--events/);
    expect(fleetOptionsError({ robots: 10, events: 9, seed: 1 })).toMatch(/at least --robots/);
    expect(fleetOptionsError({ robots: 1, events: 10, seed: 1, startTime: -1 })).toMatch(/--start-time/);
    expect(fleetOptionsError({ robots: 1, events: 10, seed: 1, startTime: Number.MAX_SAFE_INTEGER - 100 })).toMatch(/too late/);
    expect(fleetOptionsError({ robots: 10, events: 10, seed: 1 })).toBeNull();
    expect(() => new FleetTracks({ robots: 10, events: 9, seed: 1 })).toThrow(RangeError);
  });
});
