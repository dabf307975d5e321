// The actor's pure decision rule: which events of a batch are stored, which are duplicates of the
// stored head or of this batch, which are stale, and which need the stored history to tell.

import { describe, expect, it } from 'vitest';
import { decide, findTimestamp, Verdict } from '../../src/actors/decide.js';
import { EVENT_STRIDE } from '../../src/domain/location.js';
import type { StreamHead } from '../../src/store/event-log.js';
import { mulberry32, randomInt } from '../../bench/lib/random.js';

type Event = readonly [x: number, y: number, t: number];

const EMPTY_STREAM = { x: 0, y: 0, timestamp: -1 };
/** Filler around the inputs and outputs: decide must read and write only its own range. */
const PAD = 3;
const FILL = 7777;

function run(head: StreamHead | null, events: readonly Event[]): { verdicts: number[]; accepted: number[] } {
  const mail = new Float64Array((events.length + 2 * PAD) * EVENT_STRIDE).fill(FILL);
  mail.set(events.flat(), PAD * EVENT_STRIDE);
  const verdicts = new Uint8Array(events.length + 2 * PAD).fill(99);
  const accepted = new Float64Array((events.length + 2 * PAD) * EVENT_STRIDE).fill(FILL);
  const n = decide(head ?? EMPTY_STREAM, mail, PAD, events.length, verdicts, PAD, accepted, PAD);
  expect([...verdicts.subarray(0, PAD), ...verdicts.subarray(PAD + events.length)]).toEqual(new Array(2 * PAD).fill(99));
  expect([...accepted.subarray(0, PAD * EVENT_STRIDE), ...accepted.subarray((PAD + n) * EVENT_STRIDE)].every((v) => v === FILL)).toBe(true);
  return { verdicts: [...verdicts.subarray(PAD, PAD + events.length)], accepted: [...accepted.subarray(PAD * EVENT_STRIDE, (PAD + n) * EVENT_STRIDE)] };
}

const HEAD: StreamHead = { revision: 9n, x: 1, y: 2, timestamp: 100 };
const { Accept, Duplicate, Stale, DuplicateOfBatch, NeedsHistory } = Verdict;

describe('Verdict', () => {
  it('has the stable numeric values the actor relies on', () => {
    expect(Verdict).toEqual({ Accept: 0, Duplicate: 1, Stale: 2, DuplicateOfBatch: 3, NeedsHistory: 4 });
  });
});

describe('decide on an empty stream', () => {
  it('accepts increasing events and packs them as (x, y, t) triples', () => {
    const result = run(null, [
      [0, 0, 0],
      [1.5, -2, 10],
      [3, 4, 11],
    ]);
    expect(result.verdicts).toEqual([Accept, Accept, Accept]);
    expect(result.accepted).toEqual([0, 0, 0, 1.5, -2, 10, 3, 4, 11]);
  });

  it('accepts exactly one event per millisecond', () => {
    const events: Event[] = Array.from({ length: 50 }, (_, i) => [i, -i, 1_000 + i]);
    const result = run(null, events);
    expect(result.verdicts).toEqual(events.map(() => Accept));
    expect(result.accepted).toEqual(events.flat());
  });

  it('accepts timestamp 0 as the first event', () => {
    expect(run(null, [[5, 5, 0]])).toEqual({ verdicts: [Accept], accepted: [5, 5, 0] });
  });

  it('returns empty results for an empty batch', () => {
    expect(run(null, [])).toEqual({ verdicts: [], accepted: [] });
    expect(run(HEAD, [])).toEqual({ verdicts: [], accepted: [] });
  });

  it('reads only `count` events from `from`', () => {
    const mail = Float64Array.of(1, 1, 10, 2, 2, 20, 3, 3, 30, 4, 4, 5);
    const verdicts = new Uint8Array(2);
    const accepted = new Float64Array(6);
    expect(decide(EMPTY_STREAM, mail, 1, 2, verdicts, 0, accepted, 0)).toBe(2);
    expect([...verdicts]).toEqual([Accept, Accept]);
    expect([...accepted]).toEqual([2, 2, 20, 3, 3, 30]);
  });
});

describe('decide against a stored head', () => {
  it('accepts events newer than the head', () => {
    expect(run(HEAD, [[9, 9, 101]])).toEqual({ verdicts: [Accept], accepted: [9, 9, 101] });
  });

  it('calls an event equal to the head a Duplicate', () => {
    expect(run(HEAD, [[1, 2, 100]])).toEqual({ verdicts: [Duplicate], accepted: [] });
  });

  it('calls an event at the head timestamp with another position Stale', () => {
    expect(run(HEAD, [[1, 3, 100]]).verdicts).toEqual([Stale]);
    expect(run(HEAD, [[0, 2, 100]]).verdicts).toEqual([Stale]);
  });

  it('sends events older than the head to the history (NeedsHistory), whatever their position', () => {
    expect(run(HEAD, [[1, 2, 99]])).toEqual({ verdicts: [NeedsHistory], accepted: [] });
    expect(run(HEAD, [[7, 7, 0]]).verdicts).toEqual([NeedsHistory]);
  });

  it('still recognises the head duplicate after newer events of the same batch', () => {
    const result = run(HEAD, [
      [5, 5, 101],
      [1, 2, 100],
      [1, 9, 100],
      [0, 0, 50],
    ]);
    expect(result.verdicts).toEqual([Accept, Duplicate, Stale, NeedsHistory]);
    expect(result.accepted).toEqual([5, 5, 101]);
  });
});

describe('decide within one batch', () => {
  it('calls a repeat of an accepted event DuplicateOfBatch', () => {
    const result = run(HEAD, [
      [5, 6, 200],
      [5, 6, 200],
    ]);
    expect(result.verdicts).toEqual([Accept, DuplicateOfBatch]);
    expect(result.accepted).toEqual([5, 6, 200]);
  });

  it('calls a repeat of an earlier accepted event (not the latest) DuplicateOfBatch', () => {
    const result = run(null, [
      [1, 1, 10],
      [2, 2, 20],
      [3, 3, 30],
      [1, 1, 10],
      [2, 2, 20],
    ]);
    expect(result.verdicts).toEqual([Accept, Accept, Accept, DuplicateOfBatch, DuplicateOfBatch]);
    expect(result.accepted).toEqual([1, 1, 10, 2, 2, 20, 3, 3, 30]);
  });

  it('calls the same timestamp with another position Stale', () => {
    expect(
      run(HEAD, [
        [5, 6, 200],
        [5, 7, 200],
      ]).verdicts,
    ).toEqual([Accept, Stale]);
  });

  it('calls an out-of-order event newer than the head but older than an accepted one Stale', () => {
    const result = run(HEAD, [
      [1, 1, 110],
      [2, 2, 130],
      [9, 9, 120],
    ]);
    expect(result.verdicts).toEqual([Accept, Accept, Stale]);
    expect(result.accepted).toEqual([1, 1, 110, 2, 2, 130]);
  });

  it('does not match a Stale event of the batch as a duplicate', () => {
    // The second event is Stale and not stored; repeating it must not turn it into a batch duplicate.
    const result = run(null, [
      [1, 1, 10],
      [2, 2, 10],
      [2, 2, 10],
    ]);
    expect(result.verdicts).toEqual([Accept, Stale, Stale]);
  });
});

describe('findTimestamp', () => {
  const block = Float64Array.of(0, 0, 10, 1, 1, 20, 2, 2, 30, 3, 3, 40);

  it('finds the index of each timestamp', () => {
    expect(findTimestamp(block, 4, 10)).toBe(0);
    expect(findTimestamp(block, 4, 20)).toBe(1);
    expect(findTimestamp(block, 4, 30)).toBe(2);
    expect(findTimestamp(block, 4, 40)).toBe(3);
  });

  it('returns -1 for absent timestamps', () => {
    for (const t of [0, 9, 15, 35, 41]) expect(findTimestamp(block, 4, t)).toBe(-1);
  });

  it('searches only the first `count` events', () => {
    expect(findTimestamp(block, 2, 30)).toBe(-1);
    expect(findTimestamp(block, 0, 10)).toBe(-1);
  });

  it('searches `count` events from `first`, answering absolute indexes', () => {
    expect(findTimestamp(block, 2, 30, 1)).toBe(2);
    expect(findTimestamp(block, 2, 10, 1)).toBe(-1);
    expect(findTimestamp(block, 2, 40, 1)).toBe(-1);
  });
});

describe('decide against a naive model (seeded)', () => {
  // The rule written the slow, obvious way: compare with every stored-in-this-batch event.
  function naive(head: StreamHead | null, events: readonly Event[]): { verdicts: number[]; accepted: number[] } {
    const headT = head === null ? -1 : head.timestamp;
    const stored: Event[] = [];
    const verdicts = events.map(([x, y, t]) => {
      const latest = stored.length === 0 ? headT : stored[stored.length - 1]![2];
      if (t > latest) {
        stored.push([x, y, t]);
        return Accept;
      }
      if (t > headT) return stored.some((e) => e[0] === x && e[1] === y && e[2] === t) ? DuplicateOfBatch : Stale;
      if (t === headT) return head !== null && head.x === x && head.y === y ? Duplicate : Stale;
      return NeedsHistory;
    });
    return { verdicts, accepted: stored.flat() };
  }

  it('agrees on 2,000 random batches with repeats, reorderings and collisions', () => {
    const random = mulberry32(42);
    for (let round = 0; round < 2000; round++) {
      const head: StreamHead | null =
        random() < 0.2
          ? null
          : {
              revision: BigInt(randomInt(random, 0, 1000)),
              x: randomInt(random, 0, 2),
              y: randomInt(random, 0, 2),
              timestamp: randomInt(random, 0, 20),
            };
      const events: Event[] = [];
      const n = randomInt(random, 1, 30);
      for (let i = 0; i < n; i++) {
        if (events.length > 0 && random() < 0.25) {
          events.push(events[randomInt(random, 0, events.length - 1)]!);
        } else {
          events.push([randomInt(random, 0, 2), randomInt(random, 0, 2), randomInt(random, 0, 40)]);
        }
      }
      const label = JSON.stringify({ head: head && { ...head, revision: String(head.revision) }, events });
      expect(run(head, events), label).toEqual(naive(head, events));
    }
  });
});
