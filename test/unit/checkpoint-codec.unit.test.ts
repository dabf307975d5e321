// The projection checkpoint codec: exact round trips (random fleets, huge positions, unicode names,
// unaligned input), and a precise TELEMETRY_CHECKPOINT_INVALID for every way a file can be unusable.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../src/domain/errors.js';
import {
  checkpointPieces,
  decodeCheckpoint,
  decodeSegment,
  encodeCheckpoint,
  projectionsFromSegments,
  robotState,
} from '../../src/projections/checkpoint/codec.js';
import { robotStates, snapshotRobots } from '../../src/projections/checkpoint/shared-snapshot.js';
import { Projections } from '../../src/projections/projections.js';
import { RobotProjection } from '../../src/projections/robot-projection.js';
import { mulberry32, randomInt } from '../../bench/lib/random.js';

const META = { projectionVersion: 3, logIdentity: 'log-8f2c' };
const DIGEST_BYTES = 32;

/** A robot with `n` events: strictly increasing timestamps, random walk coordinates. */
function randomRobot(random: () => number, name: string, n: number): RobotProjection {
  const events = new Float64Array(n * 3);
  let t = randomInt(random, 0, 1_000_000);
  for (let i = 0; i < n; i++) {
    events[i * 3] = (random() - 0.5) * 1e4;
    events[i * 3 + 1] = (random() - 0.5) * 1e4;
    events[i * 3 + 2] = t;
    t += randomInt(random, 1, 1000);
  }
  const robot = new RobotProjection(name);
  robot.apply(0, events);
  return robot;
}

function randomFleet(seed: number, robots: number, maxEvents: number, position: bigint): Projections {
  const random = mulberry32(seed);
  const projections = new Projections();
  for (let r = 0; r < robots; r++) projections.add(randomRobot(random, `robot-${r}`, randomInt(random, 1, maxEvents)));
  projections.position = position;
  return projections;
}

function smallFleet(): Projections {
  return randomFleet(7, 2, 3, 12345n);
}

/** Same summaries, position and counts; same odometer and range() answers over random ranges. */
function expectSame(actual: Projections, expected: Projections, seed: number): void {
  expect(actual.position).toBe(expected.position);
  expect(actual.robotCount).toBe(expected.robotCount);
  expect(actual.eventCount).toBe(expected.eventCount);
  expect(actual.list()).toEqual(expected.list());
  const random = mulberry32(seed);
  for (const summary of expected.list()) {
    const want = expected.get(summary.name)!;
    const got = actual.get(summary.name)!;
    expect(got.lastPosition()).toEqual(want.lastPosition());
    for (let i = 0; i < 20; i++) {
      const a = randomInt(random, summary.first_timestamp - 100, summary.last_timestamp + 100);
      const b = randomInt(random, a, summary.last_timestamp + 100);
      expect(got.odometer(a, b)).toBe(want.odometer(a, b));
      expect(got.range(a, b)).toEqual(want.range(a, b));
    }
  }
}

/** Recomputes the digest, so a deliberately malformed body passes the checksum. */
function rehash(bytes: Buffer): Buffer {
  const end = bytes.length - DIGEST_BYTES;
  createHash('sha256').update(bytes.subarray(0, end)).digest().copy(bytes, end);
  return bytes;
}

function decodeError(bytes: Buffer, expect_ = META): Error {
  try {
    decodeCheckpoint(bytes, expect_);
  } catch (error) {
    return error as Error;
  }
  throw new Error('decodeCheckpoint accepted the bytes');
}

function expectInvalid(bytes: Buffer, reason: RegExp, expect_ = META): void {
  const error = decodeError(bytes, expect_);
  expect(hasCode(error, 'CHECKPOINT_INVALID'), String(error)).toBe(true);
  expect(error.message).toMatch(/^Projection checkpoint unusable: /);
  expect(error.message).toMatch(reason);
}

describe('checkpoint pieces', () => {
  it('are the bytes of the sealed layout, read from robots whose events span many blocks', () => {
    const random = mulberry32(11);
    const fleet = new Projections();
    for (let r = 0; r < 12; r++) {
      const robot = new RobotProjection(`robot-${r}`, randomInt(random, 0, 8));
      const n = randomInt(random, 0, 5000);
      for (let from = 0; from < n; ) {
        const chunk = Math.min(n - from, randomInt(random, 1, 400));
        const events = new Float64Array(chunk * 3);
        for (let i = 0; i < chunk; i++) events.set([random() * 100, random() * 100, from + i], i * 3);
        robot.apply(from, events);
        from += chunk;
      }
      if (n > 0) fleet.add(robot);
    }
    fleet.position = 987_654_321n;
    const content = { meta: META, position: fleet.position.toString(), robots: Array.from(fleet.allRobots(), robotState) };
    expect(content.robots.some((robot) => robot.timestamps.length > 10)).toBe(true);
    const pieces = Buffer.concat([...checkpointPieces(content)]);
    expect(pieces.equals(encodeCheckpoint(fleet, META))).toBe(true);
    expectSame(decodeCheckpoint(pieces, META), fleet, 12);
  });

  it('refuses a robot whose pieces do not add up to its event count', () => {
    const robot = robotState(randomRobot(mulberry32(1), 'short', 10));
    const content = { meta: META, position: '1', robots: [{ ...robot, count: 11 }] };
    expect(() => [...checkpointPieces(content)]).toThrow(/"short" has 11 events but 10 timestamps/);
  });
});

/** The same checkpoint in format 1, as written before segments: no first revision per robot. */
function asFormat1(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  const string = (at: number) => at + 4 + bytes.readUInt32LE(at) + ((8 - ((4 + bytes.readUInt32LE(at)) % 8)) % 8);
  let at = string(string(16));
  const robots = bytes.readUInt32LE(at);
  at += 8;
  parts.push(bytes.subarray(0, at));
  for (let r = 0; r < robots; r++) {
    const name = at;
    at = string(at);
    const count = bytes.readDoubleLE(at + 8);
    parts.push(bytes.subarray(name, at), bytes.subarray(at + 8, at + 32 + 16 * count));
    at += 32 + 16 * count;
  }
  const out = Buffer.concat([...parts, Buffer.alloc(DIGEST_BYTES)]);
  out.writeUInt32LE(1, 8);
  return rehash(out);
}

describe('checkpoint segments', () => {
  /** Events for revisions [from, to) of a robot: a walk that differs per robot. */
  function walk(seed: number, from: number, to: number): Float64Array {
    const events = new Float64Array((to - from) * 3);
    for (let i = 0; i < to - from; i++) events.set([Math.sin(seed + from + i) * 50, Math.cos(seed * (from + i)) * 50, (from + i) * 10], i * 3);
    return events;
  }

  it('chain into the same projections as one whole checkpoint, each holding only what followed the one before', () => {
    const fleet = new Projections();
    const names = ['a', 'b', 'c', 'd'];
    const grow = (to: (r: number) => number) =>
      names.forEach((name, r) => {
        const have = fleet.get(name)?.eventCount ?? 0;
        if (to(r) > have) fleet.apply([{ position: fleet.position, stream: name, firstRevision: BigInt(have), events: walk(r + 1, have, to(r)) }]);
      });
    const segment = (from: (robot: RobotProjection) => number) =>
      Buffer.concat([...checkpointPieces({ meta: META, position: fleet.position.toString(), robots: robotStates(snapshotRobots(fleet.allRobots(), from)) })]);

    grow((r) => 100 * (r + 1)); // a: 100, b: 200, c: 300, d: 400
    fleet.position = 10n;
    const first = segment(() => 0);
    const savedAt = new Map(names.map((name) => [name, fleet.get(name)!.eventCount]));
    grow((r) => (r === 1 ? 200 : 1000 + 37 * r)); // b gains nothing
    fleet.position = 20n;
    const second = segment((robot) => savedAt.get(robot.name)!);

    const decoded = decodeSegment(second, META);
    expect(decoded.position).toBe(20n);
    expect(decoded.robots.map((robot) => [robot.name, robot.from, robot.timestamps.length])).toEqual([
      ['a', 100, 900],
      ['c', 300, 774],
      ['d', 400, 711],
    ]);
    const chained = projectionsFromSegments([decodeSegment(first, META), decoded]);
    expectSame(chained, fleet, 77);
    expect(chained.position).toBe(20n);
    expectSame(decodeCheckpoint(segment(() => 0), META), fleet, 78);
    // Decoded robots go on growing in blocks of their own, after the segments' arrays.
    for (const projections of [chained, fleet]) projections.apply([{ position: 30n, stream: 'a', firstRevision: 1000n, events: walk(1, 1000, 1500) }]);
    expectSame(chained, fleet, 79);
  });

  it('refuse a chain whose segments do not follow each other', () => {
    const fleet = randomFleet(21, 3, 50, 5n);
    const whole = decodeSegment(encodeCheckpoint(fleet, META), META);
    expect(() => projectionsFromSegments([whole, whole])).toThrow(/segment 2 of 2 takes robot "robot-0" on at revision 0, but the segments before it end at \d+/);
  });

  it('reads format 1 (every robot whole, no first revision) as before', () => {
    const fleet = randomFleet(5, 6, 200, 4242n);
    const old = asFormat1(encodeCheckpoint(fleet, META));
    expect(old.readUInt32LE(8)).toBe(1);
    expectSame(decodeCheckpoint(old, META), fleet, 5);
  });
});

describe('checkpoint round trip', () => {
  it.each([1, 2, 3])('reproduces a random fleet exactly (seed %i)', (seed) => {
    const fleet = randomFleet(seed, 40, 300, BigInt(seed) * 1_000_003n);
    const decoded = decodeCheckpoint(encodeCheckpoint(fleet, META), META);
    expectSame(decoded, fleet, seed + 100);
  });

  it('keeps positions above 2^64 (EventStoreDB packs positions into ~2^80)', () => {
    for (const position of [2n ** 64n, 2n ** 80n + 12_345n, 2n ** 128n - 1n]) {
      const fleet = randomFleet(4, 3, 10, position);
      expect(decodeCheckpoint(encodeCheckpoint(fleet, META), META).position).toBe(position);
    }
  });

  it('round trips empty projections, at the start and at a later position', () => {
    for (const position of [0n, 99n]) {
      const empty = new Projections();
      empty.position = position;
      const decoded = decodeCheckpoint(encodeCheckpoint(empty, META), META);
      expect(decoded.robotCount).toBe(0);
      expect(decoded.eventCount).toBe(0);
      expect(decoded.list()).toEqual([]);
      expect(decoded.position).toBe(position);
    }
  });

  it('keeps unicode robot names and log identities byte for byte', () => {
    const random = mulberry32(5);
    const names = ['Robôt 7', '机器人-1', '🤖 r2', 'e\u0301', '\uFEFFleading-bom', 'x'.repeat(150)];
    const fleet = new Projections();
    for (const name of names) fleet.add(randomRobot(random, name, 5));
    const meta = { projectionVersion: 1, logIdentity: 'лог-🪵' };
    const decoded = decodeCheckpoint(encodeCheckpoint(fleet, meta), meta);
    expect(decoded.list().map((robot) => robot.name)).toEqual([...names].sort());
    expectSame(decoded, fleet, 6);
  });

  it('gives the same bytes whatever order the robots were added in', () => {
    const random = mulberry32(8);
    const robots = ['b', 'a', 'c'].map((name) => randomRobot(random, name, 4));
    const forward = new Projections();
    const backward = new Projections();
    for (const robot of robots) forward.add(robot);
    for (const robot of [...robots].reverse()) backward.add(robot);
    expect(encodeCheckpoint(forward, META).equals(encodeCheckpoint(backward, META))).toBe(true);
  });

  it('decodes from an unaligned Buffer, copying so later writes to it change nothing', () => {
    const fleet = randomFleet(9, 10, 50, 77n);
    const bytes = encodeCheckpoint(fleet, META);
    const larger = Buffer.alloc(bytes.length + 8);
    bytes.copy(larger, 3);
    const unaligned = larger.subarray(3, 3 + bytes.length);
    expect(unaligned.byteOffset % 8).not.toBe(0);
    const decoded = decodeCheckpoint(unaligned, META);
    larger.fill(0xff);
    expectSame(decoded, fleet, 10);
  });

  it('lets decoded robots keep applying events without touching the checkpoint bytes', () => {
    const fleet = randomFleet(11, 1, 5, 1n);
    const bytes = encodeCheckpoint(fleet, META);
    const copy = Buffer.from(bytes);
    const decoded = decodeCheckpoint(bytes, META);
    const robot = decoded.get('robot-0')!;
    const before = robot.summary();
    const [x, y] = robot.lastPosition();
    robot.apply(robot.eventCount, Float64Array.of(x + 3, y + 4, before.last_timestamp + 1));
    expect(robot.summary()).toMatchObject({ event_count: before.event_count + 1, odometer: before.odometer + 5 });
    expect(bytes.equals(copy)).toBe(true);
  });

  it('rejects meta it cannot encode', () => {
    const fleet = smallFleet();
    for (const projectionVersion of [-1, 1.5, 2 ** 32]) {
      expect(() => encodeCheckpoint(fleet, { ...META, projectionVersion })).toThrow(RangeError);
    }
  });
});

describe('checkpoint rejection', () => {
  it('rejects every truncation of a small checkpoint', () => {
    const bytes = encodeCheckpoint(smallFleet(), META);
    for (let length = 0; length < bytes.length; length++) {
      expectInvalid(bytes.subarray(0, length), /: (too short|truncated): /);
    }
  });

  it('rejects truncations of a large checkpoint', () => {
    const bytes = encodeCheckpoint(randomFleet(12, 200, 500, 5n), META);
    const random = mulberry32(13);
    const cuts = [72, 100, bytes.length - DIGEST_BYTES, bytes.length - 1];
    for (let i = 0; i < 30; i++) cuts.push(randomInt(random, 72, bytes.length - 1));
    for (const length of cuts) {
      expectInvalid(bytes.subarray(0, length), new RegExp(`: truncated: ${length} bytes, but its lengths call for`));
    }
  });

  it('rejects every single bit flip of a small checkpoint', () => {
    const bytes = encodeCheckpoint(smallFleet(), META);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const byte = bit >> 3;
      const reason = byte < 8 ? /: bad magic: / : byte < 12 ? /: unknown format version / : /: (checksum mismatch|truncated): /;
      expectInvalid(flipped, reason);
    }
  });

  it('rejects bad magic and unknown format versions', () => {
    const bytes = encodeCheckpoint(smallFleet(), META);
    const magic = Buffer.from(bytes);
    magic.write('XLMCKPT1', 0, 'latin1');
    expectInvalid(magic, /: bad magic: expected "TLMCKPT1", found 0x584c4d434b505431$/);
    const version = Buffer.from(bytes);
    version.writeUInt32LE(3, 8);
    expectInvalid(rehash(version), /: unknown format version 3 \(this build reads 1 and 2\)$/);
    expectInvalid(Buffer.from('not a checkpoint at all, just some text'), /: bad magic: /);
  });

  it('rejects a different projection version, naming both', () => {
    const bytes = encodeCheckpoint(smallFleet(), META);
    expectInvalid(bytes, /: projection version differs: checkpoint has 3, this build expects 4$/, { ...META, projectionVersion: 4 });
  });

  it('rejects a different log identity, naming both', () => {
    const bytes = encodeCheckpoint(smallFleet(), META);
    expectInvalid(bytes, /: log identity differs: checkpoint was taken from log "log-8f2c", this log is "log-other"$/, {
      ...META,
      logIdentity: 'log-other',
    });
  });

  describe('a malformed body behind a valid checksum', () => {
    // Offsets in the checkpoint of `oneRobot()`: identity "log-8f2c" (16..32), position "12" (32..40),
    // robot count (40..48), name "r" (48..56), first revision f64 (56..64), event count f64 (64..72).
    function oneRobot(): Buffer {
      const projections = new Projections();
      projections.add(randomRobot(mulberry32(14), 'r', 2));
      projections.position = 12n;
      return encodeCheckpoint(projections, META);
    }

    it('decodes the unmodified file (the offsets below are right)', () => {
      const bytes = oneRobot();
      expect(bytes.toString('latin1', 20, 28)).toBe('log-8f2c');
      expect(bytes.toString('latin1', 36, 38)).toBe('12');
      expect(bytes.readUInt32LE(40)).toBe(1);
      expect(bytes.toString('latin1', 52, 53)).toBe('r');
      expect(bytes.readDoubleLE(56)).toBe(0);
      expect(bytes.readDoubleLE(64)).toBe(2);
      expect(decodeCheckpoint(bytes, META).get('r')!.eventCount).toBe(2);
    });

    it('rejects a position that is not a decimal integer', () => {
      const bytes = oneRobot();
      bytes.write('1x', 36, 'latin1');
      expectInvalid(rehash(bytes), /: malformed body: position "1x" is not a decimal integer$/);
    });

    it('rejects a name that is not UTF-8', () => {
      const bytes = oneRobot();
      bytes[52] = 0xff;
      expectInvalid(rehash(bytes), /: malformed body: robot name at byte 48 is not valid UTF-8$/);
    });

    it('rejects non-zero padding', () => {
      const bytes = oneRobot();
      bytes[54] = 1;
      expectInvalid(rehash(bytes), /: malformed body: non-zero padding after the robot name at byte 54$/);
    });

    it('rejects an event count that is not a non-negative integer', () => {
      for (const count of [0.5, -1, Number.NaN]) {
        const bytes = oneRobot();
        bytes.writeDoubleLE(count, 64);
        expectInvalid(rehash(bytes), new RegExp(`: malformed body: robot #0 has event count ${count}$`));
      }
    });

    it('rejects a first revision that is not a non-negative integer', () => {
      for (const from of [0.5, -1, Number.NaN]) {
        const bytes = oneRobot();
        bytes.writeDoubleLE(from, 56);
        expectInvalid(rehash(bytes), new RegExp(`: malformed body: robot #0 starts at revision ${from}$`));
      }
    });

    it('rejects, as a whole checkpoint, a segment that takes robots on past their first event', () => {
      const bytes = oneRobot();
      bytes.writeDoubleLE(5, 56);
      expectInvalid(rehash(bytes), /: segment 1 of 1 takes robot "r" on at revision 5, but the segments before it end at 0$/);
    });

    it('rejects lengths that run past the body, and bytes after the last robot', () => {
      const longer = oneRobot();
      longer.writeDoubleLE(3, 64);
      expectInvalid(rehash(longer), /: malformed body: contents run past the end of the body at byte \d+$/);
      const shorter = oneRobot();
      shorter.writeDoubleLE(1, 64);
      expectInvalid(rehash(shorter), /: malformed body: 16 unexpected bytes after the last robot$/);
    });

    it('rejects a robot that appears twice', () => {
      const projections = new Projections();
      projections.add(randomRobot(mulberry32(15), 'a', 1));
      projections.add(randomRobot(mulberry32(16), 'b', 1));
      const bytes = encodeCheckpoint(projections, META);
      const second = 48 + 8 + 32 + 16; // after robot "a": its name, fixed fields and one event
      expect(bytes.toString('latin1', second + 4, second + 5)).toBe('b');
      bytes.write('a', second + 4, 'latin1');
      expectInvalid(rehash(bytes), /: malformed body: robot "a" appears twice$/);
    });
  });
});
