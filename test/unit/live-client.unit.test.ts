// One live-feed client against a real Writable whose consumer we hold back: the throttle, the
// latest-wins coalescing, and what happens to a browser that stops reading (nothing queues up;
// a client stuck for too long is dropped). Timers are faked so intervals need no waiting.

import { once } from 'node:events';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { LiveClient } from '../../src/api/live/live-client.js';

const positions = new Map<string, number>();
// Each message is larger than the stream's high-water mark, so one unread write congests it.
const PADDING = 'x'.repeat(200);
const render = (robot: string): string | null =>
  positions.has(robot) ? `event: position\ndata: ${robot}@${positions.get(robot)} ${PADDING}\n\n` : null;

/** A socket-like stream whose reader acknowledges a write only when told to. */
function heldStream() {
  const written: string[] = [];
  const held: Array<() => void> = [];
  const out = new Writable({
    highWaterMark: 100,
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      held.push(() => done());
    },
  });
  /** The reader catches up: every write so far is acknowledged. */
  const release = async () => {
    const drained = out.writableNeedDrain ? once(out, 'drain') : Promise.resolve();
    for (const done of held.splice(0)) done();
    await drained;
  };
  return { out, written, release };
}

/** The robots and their positions in written text, in order. */
function robotsIn(text: string): string[] {
  return [...text.matchAll(/data: (\S+)/g)].map((m) => m[1]!);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  positions.clear();
});

afterEach(() => {
  vi.useRealTimers();
});

it('writes a robot at most once per interval, with its latest position', async () => {
  const { out, written, release } = heldStream();
  const client = new LiveClient(out, null, render, { intervalMs: 100, stallMs: 10_000 });
  positions.set('A', 1);
  client.mark('A');
  vi.advanceTimersByTime(0);
  expect(written.map(robotsIn)).toEqual([['A@1']]);
  await release();

  for (let p = 2; p <= 9; p++) {
    positions.set('A', p);
    client.mark('A');
    vi.advanceTimersByTime(10);
  }
  expect(written).toHaveLength(1); // 80 ms after the first write: still inside the interval
  vi.advanceTimersByTime(20);
  expect(written.map(robotsIn)).toEqual([['A@1'], ['A@9']]);
  client.close();
});

it('follows only the robots of its filter', () => {
  const { out } = heldStream();
  const client = new LiveClient(out, new Set(['A']), render, { intervalMs: 100, stallMs: 10_000 });
  expect(client.wants('A')).toBe(true);
  expect(client.wants('B')).toBe(false);
  client.close();
});

it('stops writing to a congested stream, keeps only the latest per robot, and sends that once it drains', async () => {
  const { out, written, release } = heldStream();
  const client = new LiveClient(out, null, render, { intervalMs: 50, stallMs: 10_000 });
  positions.set('A', 1);
  client.mark('A');
  vi.advanceTimersByTime(0);
  expect(client.isCongested).toBe(true);
  const bufferedWhenCongested = out.writableLength;

  // A 100 Hz fleet of three robots for five seconds, while the reader is stuck.
  for (let tick = 0; tick < 500; tick++) {
    for (const robot of ['A', 'B', 'C']) {
      positions.set(robot, tick);
      client.mark(robot);
    }
    vi.advanceTimersByTime(10);
  }
  expect(written).toHaveLength(1);
  expect(out.writableLength).toBe(bufferedWhenCongested);
  expect(client.pendingCount).toBe(3);

  await release();
  expect(client.isCongested).toBe(false);
  vi.advanceTimersByTime(0);
  expect(written).toHaveLength(2);
  expect(robotsIn(written[1]!).sort()).toEqual(['A@499', 'B@499', 'C@499']);
  client.close();
});

it('drops a client whose stream stays congested past the stall limit, and heartbeats a healthy one', async () => {
  const { out, written, release } = heldStream();
  const client = new LiveClient(out, null, render, { intervalMs: 50, stallMs: 1000 });
  client.heartbeat(Date.now());
  expect(written).toEqual([': heartbeat\n\n']);
  await release();

  positions.set('A', 1);
  client.mark('A');
  vi.advanceTimersByTime(0);
  expect(client.isCongested).toBe(true);
  client.heartbeat(Date.now() + 999);
  expect(client.isClosed).toBe(false);
  client.heartbeat(Date.now() + 1000);
  expect(client.isClosed).toBe(true);
  expect(out.destroyed).toBe(true);
});

it('skips robots the projections do not know and writes nothing for them', () => {
  const { out, written } = heldStream();
  const client = new LiveClient(out, null, render, { intervalMs: 50, stallMs: 1000 });
  client.mark('Ghost');
  vi.advanceTimersByTime(100);
  expect(written).toEqual([]);
  expect(client.pendingCount).toBe(0);
  client.close();
});
