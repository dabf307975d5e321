// The EventLog contract: what every adapter of the port must do, as one shared suite.
// Each adapter's spec calls `eventLogContract(name, factory)`; an adapter not run through it is not done.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/domain/errors.js';
import { EVENT_STRIDE } from '../../src/domain/location.js';
import {
  APPEND_CONFLICT,
  expectedCode,
  LOG_START,
  type AppendBatch,
  type EventLog,
  type ExpectedRevision,
  type LogPosition,
  type RecordedChunk,
  type Subscription,
} from '../../src/store/event-log.js';

export interface EventLogFixture {
  readonly log: EventLog;
  cleanup(): Promise<void>;
}

export type EventLogFactory = () => Promise<EventLogFixture>;

type Triple = readonly [x: number, y: number, timestamp: number];

/** Packs (x, y, timestamp) triples into the port's block format. */
export function block(...events: Triple[]): Float64Array {
  const out = new Float64Array(events.length * EVENT_STRIDE);
  events.forEach(([x, y, t], i) => out.set([x, y, t], i * EVENT_STRIDE));
  return out;
}

/** `count` distinct events; event i of a block built with `seed` is (seed + i, -(seed + i) / 3, seed * 1000 + i). */
export function series(seed: number, count: number): Float64Array {
  const events: Triple[] = [];
  for (let i = 0; i < count; i++) events.push([seed + i, -(seed + i) / 3, seed * 1000 + i]);
  return block(...events);
}

/** The block's values as a plain array, so comparisons ignore views and offsets. */
export function values(events: Float64Array): number[] {
  return Array.from(events);
}

/** Concatenates blocks in order. */
export function joined(...blocks: Float64Array[]): Float64Array {
  const out = new Float64Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const b of blocks) {
    out.set(b, offset);
    offset += b.length;
  }
  return out;
}

/** Resolves to the rejection reason; fails when the promise resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Reads every event of a stream, page by page. */
export async function readWholeStream(log: EventLog, stream: string, pageSize = 1000): Promise<Float64Array> {
  const pages: Float64Array[] = [];
  let from = 0n;
  for (;;) {
    const chunk = await log.readStream(stream, from, pageSize);
    if (chunk === null || chunk.events.length === 0) break;
    expect(chunk.firstRevision).toBe(from);
    pages.push(chunk.events.slice());
    from += BigInt(chunk.events.length / EVENT_STRIDE);
  }
  return joined(...pages);
}

/**
 * Chunks as a flat list of events. An adapter may cut a log into chunks differently from how it was
 * appended (EventStoreDB stores events one by one and groups them on reading), so the contract
 * compares events, not chunk boundaries.
 */
export function flatten(chunks: ReadonlyArray<Pick<RecordedChunk, 'stream' | 'firstRevision' | 'events'>>): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.events.length; i += EVENT_STRIDE) {
      const revision = chunk.firstRevision + BigInt(i / EVENT_STRIDE);
      out.push(`${chunk.stream}@${revision}:${chunk.events[i]},${chunk.events[i + 1]},${chunk.events[i + 2]}`);
    }
  }
  return out;
}

function expectIncreasing(positions: bigint[]): void {
  positions.forEach((p, i) => {
    if (i > 0) expect(p > positions[i - 1]!).toBe(true);
  });
}

/** Collects every chunk committed after `after` via readAll. */
export async function readWholeLog(log: EventLog, after: LogPosition = LOG_START): Promise<RecordedChunk[]> {
  const all: RecordedChunk[] = [];
  let position = after;
  for (;;) {
    const page = await log.readAll(position, 1000);
    if (page.length === 0) return all;
    all.push(...page);
    position = page[page.length - 1]!.position;
  }
}

export function eventLogContract(name: string, factory: EventLogFactory): void {
  describe(name, () => {
    let fixture: EventLogFixture;
    let log: EventLog;

    beforeEach(async () => {
      fixture = await factory();
      log = fixture.log;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('append and readStream', () => {
      it('reads back exactly the float64 values appended', async () => {
        const events = block(
          [0.1 + 0.2, 1 / 3, Number.MAX_SAFE_INTEGER],
          [-1e-300, 1.7976931348623157e308, 0],
          [Math.PI, -Math.E, 1_700_000_000_123],
        );
        const result = await log.append('robot-a', events, 'no_stream');
        expect(result.nextExpectedRevision).toBe(2n);

        const chunk = await log.readStream('robot-a', 0n, 100);
        expect(chunk).not.toBeNull();
        expect(chunk!.stream).toBe('robot-a');
        expect(chunk!.firstRevision).toBe(0n);
        expect(chunk!.events).toBeInstanceOf(Float64Array);
        expect(values(chunk!.events)).toEqual(values(events));
        for (let i = 0; i < events.length; i++) expect(Object.is(chunk!.events[i], events[i])).toBe(true);
      });

      it("creates a stream with 'no_stream' and rejects a second 'no_stream' append", async () => {
        const first = series(1, 2);
        await expect(log.append('robot-a', first, 'no_stream')).resolves.toMatchObject({ nextExpectedRevision: 1n });

        const error = await rejection(log.append('robot-a', series(2, 1), 'no_stream'));
        expect(hasCode(error, 'REVISION_CONFLICT')).toBe(true);
        expect((error as { code: string }).code).toBe('TELEMETRY_REVISION_CONFLICT');
        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(first));
      });

      it('rejects a stale expected revision and stores nothing', async () => {
        await log.append('robot-a', series(1, 3), 'no_stream'); // revisions 0..2
        await log.append('robot-a', series(2, 2), 2n); // revisions 3..4
        const positionBefore = await log.lastPosition();

        for (const stale of [0n, 2n, 3n, 5n]) {
          const error = await rejection(log.append('robot-a', series(9, 2), stale));
          expect(hasCode(error, 'REVISION_CONFLICT')).toBe(true);
        }

        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(joined(series(1, 3), series(2, 2))));
        expect(await log.lastPosition()).toBe(positionBefore);
        expect((await log.head('robot-a'))!.revision).toBe(4n);
      });

      it('rejects an expected revision ahead of the head, leaving no gap', async () => {
        await log.append('robot-a', series(1, 2), 'no_stream');
        const error = await rejection(log.append('robot-a', series(2, 1), 5n));
        expect(hasCode(error, 'REVISION_CONFLICT')).toBe(true);
        expect((await log.head('robot-a'))?.revision).toBe(1n);
        const next = await log.append('robot-a', series(3, 1), 1n);
        expect(next.nextExpectedRevision).toBe(2n);
      });

      it('rejects an expected revision on a stream that does not exist', async () => {
        const error = await rejection(log.append('ghost', series(1, 1), 0n));
        expect(hasCode(error, 'REVISION_CONFLICT')).toBe(true);
        expect(await log.head('ghost')).toBeNull();
        expect(await log.readStream('ghost', 0n, 10)).toBeNull();
      });

      it("appends with 'any' to new and existing streams", async () => {
        await expect(log.append('robot-a', series(1, 2), 'any')).resolves.toMatchObject({ nextExpectedRevision: 1n });
        await expect(log.append('robot-a', series(2, 3), 'any')).resolves.toMatchObject({ nextExpectedRevision: 4n });
        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(joined(series(1, 2), series(2, 3))));
      });

      it('appends when the expected revision equals the head and returns the next expected revision', async () => {
        const first = await log.append('robot-a', series(1, 4), 'no_stream');
        expect(first.nextExpectedRevision).toBe(3n);
        const second = await log.append('robot-a', series(2, 1), first.nextExpectedRevision);
        expect(second.nextExpectedRevision).toBe(4n);
        const third = await log.append('robot-a', series(3, 5), second.nextExpectedRevision);
        expect(third.nextExpectedRevision).toBe(9n);
        expect((await log.head('robot-a'))!.revision).toBe(9n);
        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(
          values(joined(series(1, 4), series(2, 1), series(3, 5))),
        );
      });

      it('lets exactly one of two concurrent writers expecting the same revision win', async () => {
        const base = await log.append('robot-a', series(1, 2), 'no_stream');
        const mine = series(10, 3);
        const theirs = series(20, 2);
        // Issued without awaiting in between: both believe the head is `base.nextExpectedRevision`.
        const outcomes = await Promise.allSettled([
          log.append('robot-a', mine, base.nextExpectedRevision),
          log.append('robot-a', theirs, base.nextExpectedRevision),
        ]);

        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(hasCode(lost[0]!.reason, 'REVISION_CONFLICT')).toBe(true);

        const winner = outcomes[0]!.status === 'fulfilled' ? mine : theirs;
        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(joined(series(1, 2), winner)));
        expect((await log.head('robot-a'))!.revision).toBe(1n + BigInt(winner.length / EVENT_STRIDE));
      });

      it("lets exactly one of two concurrent 'no_stream' writers create a stream", async () => {
        const outcomes = await Promise.allSettled([
          log.append('robot-new', series(1, 1), 'no_stream'),
          log.append('robot-new', series(2, 2), 'no_stream'),
        ]);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(hasCode(lost?.reason, 'REVISION_CONFLICT')).toBe(true);
        const winner = outcomes[0]!.status === 'fulfilled' ? series(1, 1) : series(2, 2);
        expect(values(await readWholeStream(log, 'robot-new'))).toEqual(values(winner));
        expect(await log.listStreams()).toEqual(['robot-new']);
      });

      it('stores only the events of a subarray view, not the rest of its buffer', async () => {
        const backing = series(1, 6);
        const view = backing.subarray(2 * EVENT_STRIDE, 4 * EVENT_STRIDE);
        await log.append('robot-a', view, 'no_stream');
        const chunk = await log.readStream('robot-a', 0n, 100);
        expect(values(chunk!.events)).toEqual(values(series(1, 6)).slice(2 * EVENT_STRIDE, 4 * EVENT_STRIDE));
        expect((await log.head('robot-a'))!.revision).toBe(1n);
      });

      it('rejects an empty or ragged block', async () => {
        await expect(log.append('robot-a', new Float64Array(0), 'any')).rejects.toThrow();
        await expect(log.append('robot-a', new Float64Array(4), 'any')).rejects.toThrow();
        expect(await log.head('robot-a')).toBeNull();
      });
    });

    describe('appendMany', () => {
      /** A batch of (stream, expected, events) appends, as the port's columns. */
      function batchOf(...appends: Array<[stream: string, expected: ExpectedRevision, events: Float64Array]>): AppendBatch {
        return {
          streams: appends.map((a) => a[0]),
          expected: Float64Array.from(appends, (a) => expectedCode(a[1])),
          counts: Int32Array.from(appends, (a) => a[2].length / EVENT_STRIDE),
          events: joined(...appends.map((a) => a[2])),
        };
      }

      it('appends to many streams at once, each at its own expected revision', async () => {
        await log.append('robot-b', series(1, 2), 'no_stream'); // revisions 0..1
        const result = await log.appendMany(
          batchOf(['robot-a', 'no_stream', series(2, 3)], ['robot-b', 1n, series(3, 1)], ['robot-c', 'any', series(4, 2)]),
        );
        expect([...result.firstRevisions]).toEqual([0, 2, 0]);
        expect(result.failures.size).toBe(0);
        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(series(2, 3)));
        expect(values(await readWholeStream(log, 'robot-b'))).toEqual(values(joined(series(1, 2), series(3, 1))));
        expect(values(await readWholeStream(log, 'robot-c'))).toEqual(values(series(4, 2)));
        expect((await log.head('robot-b'))!.revision).toBe(2n);
      });

      it('refuses only the appends whose expected revision is not the head, and stores the others', async () => {
        await log.append('robot-a', series(1, 2), 'no_stream'); // revisions 0..1
        await log.append('robot-b', series(2, 1), 'no_stream'); // revision 0
        const result = await log.appendMany(
          batchOf(
            ['robot-a', 0n, series(3, 1)], // stale
            ['robot-b', 0n, series(4, 2)], // at the head
            ['robot-c', 3n, series(5, 1)], // no such stream
            ['robot-a', 'no_stream', series(6, 1)], // exists
          ),
        );
        expect([...result.firstRevisions]).toEqual([APPEND_CONFLICT, 1, APPEND_CONFLICT, APPEND_CONFLICT]);
        expect(result.failures.size).toBe(0);
        expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(series(1, 2)));
        expect(values(await readWholeStream(log, 'robot-b'))).toEqual(values(joined(series(2, 1), series(4, 2))));
        expect(await log.head('robot-c')).toBeNull();
      });

      it('answers an empty batch with no outcomes, and refuses a batch whose counts do not match its events', async () => {
        const empty = await log.appendMany(batchOf());
        expect(empty.firstRevisions).toHaveLength(0);
        const ragged = { ...batchOf(['robot-a', 'no_stream', series(1, 2)]), counts: Int32Array.of(3) };
        await expect(log.appendMany(ragged)).rejects.toThrow(RangeError);
        const hollow = { ...batchOf(['robot-a', 'no_stream', series(1, 2)]), counts: Int32Array.of(0), events: new Float64Array(0) };
        await expect(log.appendMany(hollow)).rejects.toThrow(RangeError);
        expect(await log.head('robot-a')).toBeNull();
      });
    });

    describe('readStream ranges', () => {
      // Three chunks: revisions 0..3, 4..5, 6..10.
      const chunkA = series(1, 4);
      const chunkB = series(2, 2);
      const chunkC = series(3, 5);
      const all = joined(chunkA, chunkB, chunkC);
      const slice = (from: number, count: number) => values(all).slice(from * EVENT_STRIDE, (from + count) * EVENT_STRIDE);

      beforeEach(async () => {
        const a = await log.append('robot-a', chunkA, 'no_stream');
        const b = await log.append('robot-a', chunkB, a.nextExpectedRevision);
        await log.append('robot-a', chunkC, b.nextExpectedRevision);
      });

      it('reads from a middle revision within one chunk', async () => {
        const chunk = await log.readStream('robot-a', 1n, 2);
        expect(chunk!.firstRevision).toBe(1n);
        expect(values(chunk!.events)).toEqual(slice(1, 2));
      });

      it('reads a maxCount smaller than the chunk holding the start', async () => {
        const chunk = await log.readStream('robot-a', 6n, 1);
        expect(chunk!.firstRevision).toBe(6n);
        expect(values(chunk!.events)).toEqual(slice(6, 1));
      });

      it('reads across several appended chunks from a middle revision', async () => {
        const chunk = await log.readStream('robot-a', 2n, 7);
        expect(chunk!.stream).toBe('robot-a');
        expect(chunk!.firstRevision).toBe(2n);
        expect(values(chunk!.events)).toEqual(slice(2, 7));
      });

      it('stops at the end of the stream when maxCount is larger', async () => {
        const chunk = await log.readStream('robot-a', 5n, 1000);
        expect(chunk!.firstRevision).toBe(5n);
        expect(values(chunk!.events)).toEqual(slice(5, 6));
      });

      it('reads the whole stream from 0 and each single revision alone', async () => {
        const chunk = await log.readStream('robot-a', 0n, 11);
        expect(values(chunk!.events)).toEqual(values(all));
        for (let rev = 0; rev < 11; rev++) {
          const one = await log.readStream('robot-a', BigInt(rev), 1);
          expect(one!.firstRevision).toBe(BigInt(rev));
          expect(values(one!.events)).toEqual(slice(rev, 1));
        }
      });

      it('returns nothing past the head', async () => {
        const chunk = await log.readStream('robot-a', 11n, 10);
        expect(chunk === null || chunk.events.length === 0).toBe(true);
      });

      it('keeps streams apart', async () => {
        await log.append('robot-b', series(7, 2), 'no_stream');
        expect(values((await log.readStream('robot-a', 0n, 100))!.events)).toEqual(values(all));
        expect(values((await log.readStream('robot-b', 0n, 100))!.events)).toEqual(values(series(7, 2)));
      });
    });

    describe('readStream and head of unknown streams', () => {
      it('returns null for readStream of an unknown stream', async () => {
        expect(await log.readStream('nobody', 0n, 10)).toBeNull();
        await log.append('somebody', series(1, 1), 'no_stream');
        expect(await log.readStream('nobody', 0n, 10)).toBeNull();
      });

      it('returns null for head of an unknown stream and the last event of a known one', async () => {
        expect(await log.head('nobody')).toBeNull();
        await log.append('robot-a', block([1, 2, 3], [4, 5, 6]), 'no_stream');
        await log.append('robot-a', block([0.1, -0.2, 7], [1 / 3, 2 / 3, 8]), 1n);
        expect(await log.head('robot-a')).toEqual({ revision: 3n, x: 1 / 3, y: 2 / 3, timestamp: 8 });
        expect(await log.head('nobody')).toBeNull();
      });
    });

    describe('log order', () => {
      it('gives every append a strictly greater position', async () => {
        const positions: bigint[] = [];
        let rev: bigint | 'no_stream' = 'no_stream';
        for (let i = 0; i < 5; i++) {
          const a = await log.append('robot-a', series(i, 2), rev);
          rev = a.nextExpectedRevision;
          positions.push(a.position);
          positions.push((await log.append(`robot-${i}`, series(100 + i, 1), 'no_stream')).position);
        }
        for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThan(positions[i - 1]!);
        expect(positions[0]!).toBeGreaterThan(LOG_START);
      });

      it('reads all chunks from LOG_START in position order, and only later ones from a middle position', async () => {
        const appended: Array<{ stream: string; events: Float64Array; position: bigint; firstRevision: bigint }> = [];
        const heads = new Map<string, bigint>();
        const plan: Array<[string, number, number]> = [
          ['robot-a', 1, 2],
          ['robot-b', 2, 3],
          ['robot-a', 3, 1],
          ['robot-c', 4, 4],
          ['robot-b', 5, 2],
        ];
        for (const [stream, seed, count] of plan) {
          const events = series(seed, count);
          const head = heads.get(stream);
          const result = await log.append(stream, events, head ?? 'no_stream');
          appended.push({ stream, events, position: result.position, firstRevision: head === undefined ? 0n : head + 1n });
          heads.set(stream, result.nextExpectedRevision);
        }

        const everything = await log.readAll(LOG_START, 1000);
        expect(flatten(everything)).toEqual(flatten(appended));
        expectIncreasing(everything.map((c) => c.position));
        expect(everything[everything.length - 1]!.position).toBe(appended[4]!.position);

        const middle = appended[2]!.position;
        const later = await log.readAll(middle, 1000);
        expect(flatten(later)).toEqual(flatten(appended.slice(3)));
        expect(later[later.length - 1]!.position).toBe(appended[4]!.position);

        expect(await log.readAll(appended[4]!.position, 1000)).toEqual([]);
        // Paging with a small maxEvents still walks every event once, in order.
        const paged: RecordedChunk[] = [];
        let after = LOG_START;
        for (;;) {
          const page = await log.readAll(after, 1);
          if (page.length === 0) break;
          paged.push(...page);
          after = page[page.length - 1]!.position;
        }
        expect(flatten(paged)).toEqual(flatten(appended));
        expectIncreasing(paged.map((c) => c.position));
      });

      it('has a non-empty identity that appends do not change', async () => {
        const before = await log.identity();
        expect(before.length).toBeGreaterThan(0);
        await log.append('robot-a', series(1, 2), 'no_stream');
        expect(await log.identity()).toBe(before);
      });

      it('reports the last position: LOG_START when empty, then the last append', async () => {
        expect(await log.lastPosition()).toBe(LOG_START);
        const a = await log.append('robot-a', series(1, 2), 'no_stream');
        expect(await log.lastPosition()).toBe(a.position);
        const b = await log.append('robot-b', series(2, 2), 'no_stream');
        expect(await log.lastPosition()).toBe(b.position);
        await rejection(log.append('robot-a', series(3, 1), 'no_stream'));
        expect(await log.lastPosition()).toBe(b.position);
      });

      it('lists every stream once', async () => {
        expect(await log.listStreams()).toEqual([]);
        await log.append('robot-a', series(1, 1), 'no_stream');
        await log.append('robot-b', series(2, 1), 'no_stream');
        await log.append('robot-a', series(3, 1), 0n);
        await log.append('Robot 🤖 c', series(4, 1), 'any');
        expect([...(await log.listStreams())].sort()).toEqual(['Robot 🤖 c', 'robot-a', 'robot-b'].sort());
      });
    });

    describe('subscribe', () => {
      const subscriptions: Subscription[] = [];

      afterEach(async () => {
        for (const s of subscriptions.splice(0)) await s.close();
      });

      /** Subscribes and records every delivered chunk (copied), with promises for the caught-up signal. */
      function follow(after: LogPosition) {
        const seen: RecordedChunk[] = [];
        const waiters: Array<{ position: bigint; resolve: () => void }> = [];
        let caughtUpAt: LogPosition | undefined;
        let failure: unknown;
        let resolveCaughtUp!: (position: LogPosition) => void;
        const caughtUp = new Promise<LogPosition>((resolve) => (resolveCaughtUp = resolve));
        const subscription = log.subscribe(after, {
          onChunks(chunks) {
            for (const c of chunks) seen.push({ ...c, events: c.events.slice() });
            const last = seen[seen.length - 1]!.position;
            for (const w of waiters.splice(0)) {
              if (last >= w.position) w.resolve();
              else waiters.push(w);
            }
          },
          onCaughtUp(position) {
            caughtUpAt = position;
            resolveCaughtUp(position);
          },
          onError(error) {
            failure = error;
          },
        });
        subscriptions.push(subscription);
        return {
          subscription,
          seen,
          caughtUp,
          get caughtUpAt() {
            return caughtUpAt;
          },
          get failure() {
            return failure;
          },
          /** Resolves once a chunk at or past `position` has been delivered. */
          reached(position: bigint): Promise<void> {
            const last = seen[seen.length - 1]?.position;
            if (last !== undefined && last >= position) return Promise.resolve();
            return new Promise<void>((resolve) => waiters.push({ position, resolve }));
          },
        };
      }

      it('delivers what appendMany stored, and nothing it refused', async () => {
        await log.append('robot-a', series(1, 1), 'no_stream');
        const follower = follow(await log.lastPosition());
        await follower.caughtUp;
        const streams = ['robot-a', 'robot-b'];
        const result = await log.appendMany({
          streams,
          expected: Float64Array.of(expectedCode('no_stream'), expectedCode('no_stream')),
          counts: Int32Array.of(1, 2),
          events: joined(series(2, 1), series(3, 2)),
        });
        expect([...result.firstRevisions]).toEqual([APPEND_CONFLICT, 0]);
        await follower.reached(await log.lastPosition());
        expect(flatten(follower.seen)).toEqual(flatten([{ stream: 'robot-b', firstRevision: 0n, events: series(3, 2) }]));
      });

      it('catches up on existing chunks, signals caught-up, then delivers later appends live', async () => {
        const a = await log.append('robot-a', series(1, 2), 'no_stream');
        const b = await log.append('robot-b', series(2, 3), 'no_stream');

        const follower = follow(LOG_START);
        const caughtUpAt = await follower.caughtUp;
        expect(caughtUpAt).toBe(b.position);
        const past = [
          { stream: 'robot-a', firstRevision: 0n, events: series(1, 2) },
          { stream: 'robot-b', firstRevision: 0n, events: series(2, 3) },
        ];
        expect(flatten(follower.seen)).toEqual(flatten(past));
        expect(follower.seen[follower.seen.length - 1]!.position).toBe(b.position);

        const live = series(3, 4);
        const c = await log.append('robot-a', live, a.nextExpectedRevision);
        await follower.reached(c.position);
        expect(flatten(follower.seen)).toEqual(flatten([...past, { stream: 'robot-a', firstRevision: 2n, events: live }]));
        expect(follower.seen[follower.seen.length - 1]!.position).toBe(c.position);
        expectIncreasing(follower.seen.map((s) => s.position));
        expect(follower.failure).toBeUndefined();
      });

      it('catches up on an empty log and delivers the first append', async () => {
        const follower = follow(LOG_START);
        expect(await follower.caughtUp).toBe(LOG_START);
        expect(follower.seen).toEqual([]);
        const a = await log.append('robot-a', series(1, 1), 'no_stream');
        await follower.reached(a.position);
        expect(follower.seen.map((c) => c.stream)).toEqual(['robot-a']);
      });

      it('starts after the given position', async () => {
        const a = await log.append('robot-a', series(1, 1), 'no_stream');
        const b = await log.append('robot-b', series(2, 1), 'no_stream');
        const c = await log.append('robot-c', series(3, 1), 'no_stream');
        const follower = follow(a.position);
        expect(await follower.caughtUp).toBe(c.position);
        expect(follower.seen.map((x) => x.position)).toEqual([b.position, c.position]);
      });

      it('delivers appends made while catching up exactly once, in order', async () => {
        const first = await log.append('robot-a', series(1, 1), 'no_stream');
        const follower = follow(LOG_START);
        // Not awaited before subscribing: these commit while the subscription may still be catching up.
        const racing = [
          log.append('robot-a', series(2, 1), first.nextExpectedRevision),
          log.append('robot-b', series(3, 2), 'no_stream'),
        ];
        const results = await Promise.all(racing);
        await follower.caughtUp;
        const last = results[results.length - 1]!.position;
        await follower.reached(last);
        const positions = follower.seen.map((c) => c.position);
        expect(positions).toEqual([first.position, ...results.map((r) => r.position)].sort((x, y) => (x < y ? -1 : 1)));
      });

      it('stops delivering after close', async () => {
        await log.append('robot-a', series(1, 1), 'no_stream');
        const closed = follow(LOG_START);
        const witness = follow(LOG_START);
        await closed.caughtUp;
        await witness.caughtUp;
        await closed.subscription.close();

        const later = await log.append('robot-a', series(2, 1), 0n);
        // The witness sees the append; by then the closed subscription would have seen it too.
        await witness.reached(later.position);
        expect(witness.seen).toHaveLength(2);
        expect(closed.seen).toHaveLength(1);
      });
    });
  });
}
