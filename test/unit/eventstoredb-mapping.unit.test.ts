// How the EventStoreDB adapter names streams, identifies events and orders positions.

import { describe, expect, it } from 'vitest';
import { locationEventId } from '../../src/store/eventstoredb/event-id.js';
import { fromLogPosition, toLogPosition } from '../../src/store/eventstoredb/positions.js';
import { DEFAULT_STREAM_PREFIX, StreamNames } from '../../src/store/eventstoredb/stream-names.js';
import { robotNameError } from '../../src/domain/wire-format.js';
import { mulberry32 } from '../../bench/lib/random.js';

describe('StreamNames', () => {
  const names = new StreamNames();

  it('prefixes robot streams with robot- and maps every valid name back exactly', () => {
    for (const robot of ['Bender', 'Rob Oto', 'robot-7', '$system', 'a/b?c#d%e', 'Robôt ✓ 🤖', 'x'.repeat(150)]) {
      expect(robotNameError(robot)).toBeNull();
      const stream = names.of(robot);
      expect(stream.startsWith(DEFAULT_STREAM_PREFIX)).toBe(true);
      expect(stream).toMatch(/^[\x21-\x7e]+$/); // plain printable ASCII, never starting with '$'
      expect(names.robotOf(stream)).toBe(robot);
    }
  });

  it('round-trips random valid names', () => {
    const random = mulberry32(7);
    const alphabet = ['a', 'Z', '0', ' ', '-', '$', '%', '/', 'é', '✓', '🤖', '_', '.'];
    for (let n = 0; n < 500; n++) {
      let robot = '';
      const length = 1 + Math.floor(random() * 20);
      for (let i = 0; i < length; i++) robot += alphabet[Math.floor(random() * alphabet.length)];
      robot = robot.trim() || 'r';
      expect(names.robotOf(names.of(robot))).toBe(robot);
    }
  });

  it('recognises only its own prefix and well-formed encodings', () => {
    expect(names.robotOf('$ce-robot')).toBeNull();
    expect(names.robotOf('other-Bender')).toBeNull();
    expect(names.robotOf('robot-%E0%A4%A')).toBeNull();
    const scoped = new StreamNames('test-1-robot-');
    expect(scoped.of('Bender')).toBe('test-1-robot-Bender');
    expect(scoped.robotOf('robot-Bender')).toBeNull();
  });
});

describe('locationEventId', () => {
  it('is a deterministic RFC 9562 version 5 UUID of (robot, timestamp)', () => {
    const id = locationEventId('Bender', 1700000000000);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(locationEventId('Bender', 1700000000000)).toBe(id);
    expect(locationEventId('Bender', 1700000000001)).not.toBe(id);
    expect(locationEventId('bender', 1700000000000)).not.toBe(id);
    // The separator keeps (robot, timestamp) pairs that concatenate alike apart.
    expect(locationEventId('1', 23)).not.toBe(locationEventId('12', 3));
  });
});

describe('log positions', () => {
  it('pack (commit, prepare) into a bigint whose order is the pair order', () => {
    const pairs = [
      { commit: 0n, prepare: 0n },
      { commit: 5n, prepare: 5n },
      { commit: 5n, prepare: 9n },
      { commit: 6n, prepare: 6n },
      { commit: 2n ** 62n, prepare: 2n ** 63n + 1n },
    ];
    const packed = pairs.map(toLogPosition);
    packed.forEach((p, i) => {
      expect(fromLogPosition(p)).toEqual(pairs[i]);
      if (i > 0) expect(p > packed[i - 1]!).toBe(true);
    });
  });
});
