// The EventStoreDB double, driven only through the real @eventstore/db-client: what the EventStoreDB
// adapter relies on (appends with expected revisions and idempotent resends, stream and $all
// reads, filtered catch-up subscriptions, an unavailable store and the client's reconnection) and
// the CLI that serves the double to other processes.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type JSONEventType,
  type ResolvedEvent,
  type StreamSubscription,
  type AllStreamSubscription,
} from '@eventstore/db-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startEsdbDouble, type EsdbDouble } from '../support/esdb-double/index.js';

type Reading = { x: number; y: number; n: number };
type ReadingRecorded = JSONEventType<'LocationRecorded', Reading>;

const doubles: EsdbDouble[] = [];
const clients: EventStoreDBClient[] = [];

async function startDouble(): Promise<EsdbDouble> {
  const double = await startEsdbDouble();
  doubles.push(double);
  return double;
}

function connect(double: EsdbDouble, query = ''): EventStoreDBClient {
  const client = EventStoreDBClient.connectionString(`${double.connectionString}${query}`);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  await Promise.all(doubles.splice(0).map((double) => double.close()));
});

function reading(n: number, id: string = randomUUID()) {
  return jsonEvent<ReadingRecorded>({ id, type: 'LocationRecorded', data: { x: n * 1.5, y: -n, n } });
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function dataOf(events: Array<ResolvedEvent | AllStreamResolvedEvent>): unknown[] {
  return events.map((resolved) => resolved.event?.data);
}

/** Everything a subscription delivers, and promises for 'caughtUp' and for the n-th event. */
function follow(subscription: StreamSubscription | AllStreamSubscription) {
  const seen: Array<ResolvedEvent | AllStreamResolvedEvent> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let eventsAtCaughtUp = -1;
  const caughtUp = new Promise<void>((resolve) =>
    subscription.once('caughtUp', () => {
      eventsAtCaughtUp = seen.length;
      resolve();
    }),
  );
  const failed = new Promise<never>((_, reject) => subscription.once('error', reject));
  subscription.on('data', (resolved: ResolvedEvent | AllStreamResolvedEvent) => {
    seen.push(resolved);
    for (const waiter of waiters.filter((w) => seen.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  return {
    seen,
    caughtUp: () => Promise.race([caughtUp, failed]),
    eventsAtCaughtUp: () => eventsAtCaughtUp,
    received: (count: number) =>
      Promise.race([
        failed,
        new Promise<void>((resolve) => (seen.length >= count ? resolve() : waiters.push({ count, resolve }))),
      ]),
  };
}

describe('EventStoreDB double: appends', () => {
  it('stores appended JSON events and reads them back with their ids, data and revisions', async () => {
    const double = await startDouble();
    const client = connect(double);
    const events = [reading(1), reading(2), reading(3)];

    const result = await client.appendToStream('robot-a', events, { expectedRevision: NO_STREAM });

    expect(result.success).toBe(true);
    expect(result.nextExpectedRevision).toBe(2n);
    expect(result.position?.commit).toBeGreaterThan(0n);
    const read = await collect(client.readStream<ReadingRecorded>('robot-a'));
    expect(read.map((r) => r.event?.id)).toEqual(events.map((e) => e.id));
    expect(read.map((r) => r.event?.revision)).toEqual([0n, 1n, 2n]);
    expect(dataOf(read)).toEqual([
      { x: 1.5, y: -1, n: 1 },
      { x: 3, y: -2, n: 2 },
      { x: 4.5, y: -3, n: 3 },
    ]);
    const first = read[0]!.event!;
    expect(first).toMatchObject({ streamId: 'robot-a', type: 'LocationRecorded', isJson: true });
    expect(Math.abs(first.created.getTime() - Date.now())).toBeLessThan(60_000);
    expect(read[2]!.event!.position).toEqual(result.position);
    expect(double.streamEvents('robot-a').map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(JSON.parse(Buffer.from(double.streamEvents('robot-a')[0]!.data).toString('utf8'))).toEqual({
      x: 1.5,
      y: -1,
      n: 1,
    });
  });

  it('refuses a second no_stream append and a stale revision with WrongExpectedVersionError', async () => {
    const double = await startDouble();
    const client = connect(double);
    await client.appendToStream('robot-b', reading(1), { expectedRevision: NO_STREAM });

    const twice = client.appendToStream('robot-b', reading(2), { expectedRevision: NO_STREAM });
    await expect(twice).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await expect(twice).rejects.toMatchObject({ streamName: 'robot-b', expectedVersion: 'no_stream', actualVersion: 0n });

    await client.appendToStream('robot-b', reading(3), { expectedRevision: 0n });
    const stale = client.appendToStream('robot-b', reading(4), { expectedRevision: 0n });
    await expect(stale).rejects.toMatchObject({ expectedVersion: 0n, actualVersion: 1n });
    const ahead = client.appendToStream('robot-b', reading(5), { expectedRevision: 7n });
    await expect(ahead).rejects.toMatchObject({ expectedVersion: 7n, actualVersion: 1n });

    const missing = client.appendToStream('robot-none', reading(6), { expectedRevision: STREAM_EXISTS });
    await expect(missing).rejects.toMatchObject({ expectedVersion: 'stream_exists', actualVersion: 'no_stream' });
    const unknownRevision = client.appendToStream('robot-none', reading(7), { expectedRevision: 0n });
    await expect(unknownRevision).rejects.toMatchObject({ actualVersion: 'no_stream' });

    expect((await client.appendToStream('robot-b', reading(8), { expectedRevision: ANY })).nextExpectedRevision).toBe(2n);
    expect((await client.appendToStream('robot-b', reading(9), { expectedRevision: STREAM_EXISTS })).nextExpectedRevision).toBe(3n);
    expect(double.streamEvents('robot-b').map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n]);
    expect(double.streamEvents('robot-none')).toEqual([]);
  });

  it('lets exactly one of two concurrent appenders expecting the same revision win', async () => {
    const double = await startDouble();
    const [alice, bob] = [connect(double), connect(double)];
    await alice.appendToStream('robot-c', reading(0), { expectedRevision: NO_STREAM });

    const results = await Promise.allSettled([
      alice.appendToStream('robot-c', [reading(1), reading(2)], { expectedRevision: 0n }),
      bob.appendToStream('robot-c', [reading(10), reading(20)], { expectedRevision: 0n }),
    ]);

    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    // Atomic: the winner's whole batch, nothing of the loser's.
    const ns = double.streamEvents('robot-c').map((e) => JSON.parse(Buffer.from(e.data).toString('utf8')).n);
    expect([[0, 1, 2], [0, 10, 20]]).toContainEqual(ns);
  });

  it('answers a resend of the same event ids with success and writes nothing twice', async () => {
    const double = await startDouble();
    const client = connect(double);
    const batch = [reading(1), reading(2)];
    const first = await client.appendToStream('robot-d', batch, { expectedRevision: NO_STREAM });

    const again = await client.appendToStream('robot-d', batch, { expectedRevision: NO_STREAM });
    const anyAgain = await client.appendToStream('robot-d', batch, { expectedRevision: ANY });

    expect(again).toEqual(first);
    expect(anyAgain).toEqual(first);
    expect(double.streamEvents('robot-d')).toHaveLength(2);
    expect(double.allEvents()).toHaveLength(2);

    // After more events, a resend expecting the revision it was first written at is still a resend.
    const next = await client.appendToStream('robot-d', reading(3), { expectedRevision: 1n });
    expect((await client.appendToStream('robot-d', batch, { expectedRevision: NO_STREAM })).nextExpectedRevision).toBe(1n);
    // A batch that only partly matches what is stored is a conflict, not a resend.
    const partial = client.appendToStream('robot-d', [batch[1]!, reading(4)], { expectedRevision: 0n });
    await expect(partial).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect(double.streamEvents('robot-d')).toHaveLength(3);
    expect(next.nextExpectedRevision).toBe(2n);
  });
});

describe('EventStoreDB double: reads', () => {
  it('reads a stream forwards from a revision and backwards from the end, and reports unknown streams', async () => {
    const double = await startDouble();
    const client = connect(double);
    const events = [reading(1), reading(2), reading(3), reading(4)];
    await client.appendToStream('robot-e', events, { expectedRevision: NO_STREAM });

    const last = await collect(client.readStream('robot-e', { direction: BACKWARDS, fromRevision: END, maxCount: 1 }));
    expect(last.map((r) => r.event?.id)).toEqual([events[3]!.id]);
    expect(last[0]!.event?.revision).toBe(3n);

    const middle = await collect(client.readStream('robot-e', { direction: FORWARDS, fromRevision: 1n, maxCount: 2 }));
    expect(middle.map((r) => r.event?.revision)).toEqual([1n, 2n]);
    const down = await collect(client.readStream('robot-e', { direction: BACKWARDS, fromRevision: 2n }));
    expect(down.map((r) => r.event?.revision)).toEqual([2n, 1n, 0n]);
    expect(await collect(client.readStream('robot-e', { fromRevision: 9n }))).toEqual([]);

    await expect(collect(client.readStream('robot-nobody'))).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(collect(client.readStream('robot-nobody', { direction: BACKWARDS, fromRevision: END }))).rejects.toMatchObject({
      streamName: 'robot-nobody',
    });
  });

  it('reads $all forwards from the start, from a position (inclusive), and backwards from the end', async () => {
    const double = await startDouble();
    const client = connect(double);
    await client.appendToStream('robot-f', [reading(1), reading(2)]);
    await client.appendToStream('other-g', reading(3));
    await client.appendToStream('robot-f', reading(4));

    const all = await collect(client.readAll({ fromPosition: START, direction: FORWARDS }));
    expect(all.map((r) => `${r.event?.streamId}@${r.event?.revision}`)).toEqual([
      'robot-f@0',
      'robot-f@1',
      'other-g@0',
      'robot-f@2',
    ]);
    const positions = all.map((r) => r.event!.position.commit);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(new Set(positions).size).toBe(4);
    expect(all.map((r) => r.commitPosition)).toEqual(positions);

    const fromSecond = await collect(client.readAll({ fromPosition: all[1]!.event!.position, maxCount: 2 }));
    expect(fromSecond.map((r) => r.event?.id)).toEqual([all[1]!.event?.id, all[2]!.event?.id]);

    const newest = await collect(client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }));
    expect(newest.map((r) => r.event?.id)).toEqual([all[3]!.event?.id]);
    const beforeThird = await collect(client.readAll({ fromPosition: all[2]!.event!.position, direction: BACKWARDS }));
    expect(beforeThird.map((r) => r.event?.id)).toEqual([all[1]!.event?.id, all[0]!.event?.id]);
    expect(await collect(client.readAll({ fromPosition: END }))).toEqual([]);
  });
});

describe('EventStoreDB double: subscriptions', () => {
  it('delivers past filtered events, then caughtUp, then a live event appended afterwards', async () => {
    const double = await startDouble();
    const writer = connect(double);
    const reader = connect(double);
    await writer.appendToStream('robot-h', [reading(1), reading(2)]);
    await writer.appendToStream('other-i', reading(3));
    await writer.appendToStream('robot-j', reading(4));

    const subscription = reader.subscribeToAll({ filter: streamNameFilter({ prefixes: ['robot-'] }) });
    const followed = follow(subscription);
    await followed.caughtUp();

    expect(followed.eventsAtCaughtUp()).toBe(3);
    expect(followed.seen.map((r) => r.event?.streamId)).toEqual(['robot-h', 'robot-h', 'robot-j']);
    await writer.appendToStream('other-k', reading(5));
    const live = reading(6);
    await writer.appendToStream('robot-l', live);
    await followed.received(4);
    expect(followed.seen[3]!.event?.id).toBe(live.id);
    expect(followed.seen.every((r) => r.event?.streamId.startsWith('robot-'))).toBe(true);
    await subscription.unsubscribe();
  });

  it('subscribes to $all from a position and to a stream from a revision, both exclusive', async () => {
    const double = await startDouble();
    const client = connect(double);
    const first = await client.appendToStream('robot-m', [reading(1), reading(2)]);
    await client.appendToStream('robot-n', reading(3));

    const fromAll = follow(client.subscribeToAll({ fromPosition: first.position! }));
    const fromStream = follow(client.subscribeToStream('robot-m', { fromRevision: 0n }));
    const fromEnd = follow(client.subscribeToStream('robot-m', { fromRevision: END }));
    await Promise.all([fromAll.caughtUp(), fromStream.caughtUp(), fromEnd.caughtUp()]);

    expect(fromAll.seen.map((r) => r.event?.streamId)).toEqual(['robot-n']);
    expect(fromStream.seen.map((r) => r.event?.revision)).toEqual([1n]);
    expect(fromEnd.seen).toEqual([]);
    const live = reading(4);
    await client.appendToStream('robot-m', live, { expectedRevision: 1n });
    await Promise.all([fromAll.received(2), fromStream.received(2), fromEnd.received(1)]);
    expect(fromEnd.seen.map((r) => r.event?.id)).toEqual([live.id]);
    expect(fromStream.seen.map((r) => r.event?.revision)).toEqual([1n, 2n]);
  });

  it('serves many clients and subscriptions at once', async () => {
    const double = await startDouble();
    const writers = [connect(double), connect(double)];
    const readers = [connect(double), connect(double)];
    const followers = readers.flatMap((reader) => [
      follow(reader.subscribeToAll({ filter: streamNameFilter({ prefixes: ['robot-'] }) })),
      follow(reader.subscribeToStream('robot-p')),
    ]);
    await Promise.all(followers.map((f) => f.caughtUp()));
    expect(double.activeSubscriptions()).toBe(4);

    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 10; i++) await writer.appendToStream(w === 0 ? 'robot-p' : 'robot-q', reading(i));
      }),
    );

    const [allA, streamA, allB, streamB] = followers;
    await Promise.all([allA!.received(20), allB!.received(20), streamA!.received(10), streamB!.received(10)]);
    const order = double.allEvents().map((e) => e.id);
    expect(allA!.seen.map((r) => r.event?.id)).toEqual(order);
    expect(allB!.seen.map((r) => r.event?.id)).toEqual(order);
    expect(streamA!.seen.map((r) => r.event?.revision)).toEqual([...Array(10).keys()].map(BigInt));
  });
});

describe('EventStoreDB double: availability', () => {
  it('fails appends while stopped and serves the same client and data again after restart', async () => {
    const double = await startDouble();
    const client = connect(double, '&defaultDeadline=2000');
    await client.appendToStream('robot-r', reading(1), { expectedRevision: NO_STREAM });
    const port = double.port;

    await double.stop();
    expect(double.running).toBe(false);
    await expect(client.appendToStream('robot-r', reading(2), { expectedRevision: 0n, deadline: 1000 })).rejects.toThrow();

    await double.restart();
    expect(double.port).toBe(port);
    const result = await client.appendToStream('robot-r', reading(3), { expectedRevision: 0n, deadline: 5000 });
    expect(result.nextExpectedRevision).toBe(1n);
    expect(double.streamEvents('robot-r').map((e) => e.revision)).toEqual([0n, 1n]);
  });

  it('ends subscriptions with an error when the store goes away', async () => {
    const double = await startDouble();
    const client = connect(double);
    const subscription = client.subscribeToAll();
    const followed = follow(subscription);
    await followed.caughtUp();

    const dropped = once(subscription, 'error');
    await double.stop();
    await dropped;
    expect(double.activeSubscriptions()).toBe(0);
  });
});

describe('EventStoreDB double: CLI', () => {
  it('prints its connection string, serves appends, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/esdb-double/cli.ts', '--port', '0'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout! });
      const [line] = (await once(lines, 'line')) as [string];
      const connectionString = /esdb:\/\/\S+/.exec(line)?.[0];
      expect(connectionString).toMatch(/^esdb:\/\/127\.0\.0\.1:\d+\?tls=false$/);

      const client = EventStoreDBClient.connectionString(connectionString!);
      clients.push(client);
      const result = await client.appendToStream('robot-cli', reading(1), { expectedRevision: NO_STREAM });
      expect(result.nextExpectedRevision).toBe(0n);
      const [read] = await collect(client.readStream('robot-cli'));
      expect(read?.event?.data).toEqual({ x: 1.5, y: -1, n: 1 });
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
