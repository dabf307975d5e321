// The router's commit rounds on the real embedded log: every robot with waiting events goes into
// one appendMany; conflicts with another writer are reloaded and retried (or answered once the
// retries run out); events older than a head are told apart through the stored history without
// holding up other robots; a log that cannot commit answers every event with an error.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACTOR_SETTINGS } from '../../src/actors/actor-settings.js';
import type { ReplySink } from '../../src/actors/reply-sink.js';
import { Router } from '../../src/actors/router.js';
import type { ActorSettings } from '../../src/actors/robot-actor.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { makeTempDir } from '../support/temp-dir.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function openLog(dataDir?: string): { log: SqliteEventLog; dataDir: string } {
  let dir = dataDir;
  if (dir === undefined) {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    dir = temp.path;
  }
  const log = new SqliteEventLog({ dataDir: dir, pollIntervalMs: 0 });
  cleanups.push(() => log.close());
  return { log, dataDir: dir };
}

/** A reply sink that keeps every status by slot. */
class Replies implements ReplySink {
  readonly statuses: string[] = [];
  settle(slot: number, status: string): void {
    expect(this.statuses[slot], `slot ${slot} settled twice`).toBeUndefined();
    this.statuses[slot] = status;
  }
}

/** Routes `events` ([robot, x, y, t]) in one turn, then waits until every one is answered. */
async function send(router: Router, events: Array<[string, number, number, number]>): Promise<string[]> {
  const replies = new Replies();
  events.forEach(([robot, x, y, t], slot) => {
    if (!router.route(robot, Float64Array.of(x, y, t), replies, slot)) replies.settle(slot, 'refused');
  });
  await router.whenIdle();
  expect(replies.statuses).toHaveLength(events.length);
  return replies.statuses;
}

async function timestamps(log: SqliteEventLog, robot: string): Promise<number[]> {
  const chunk = await log.readStream(robot, 0n, 1000);
  const out: number[] = [];
  for (let i = 2; i < (chunk?.events.length ?? 0); i += 3) out.push(chunk!.events[i]!);
  return out;
}

function routerOn(log: SqliteEventLog, settings: Partial<ActorSettings> = {}): Router {
  return new Router(log, { ...DEFAULT_ACTOR_SETTINGS, ...settings }, pino({ level: 'silent' }));
}

describe('Router', () => {
  it('appends every robot with waiting events in one commit round', async () => {
    const { log } = openLog();
    const commits: number[] = [];
    log.observeCommits((appends) => commits.push(appends));
    const router = routerOn(log);
    // Heads are read first (new robots), then one round takes all 200 robots.
    const events: Array<[string, number, number, number]> = [];
    for (let t = 1; t <= 3; t++) for (let r = 0; r < 200; r++) events.push([`r${r}`, r, t, t]);
    expect(new Set(await send(router, events))).toEqual(new Set(['OK']));
    expect(commits).toEqual([200]);
    expect(await timestamps(log, 'r7')).toEqual([1, 2, 3]);
    expect(router.stats()).toMatchObject({ actors: 200, busyActors: 0, queuedEvents: 0 });
  });

  it('reloads the head after another writer appended, decides again and stores in order', async () => {
    const { log, dataDir } = openLog();
    // One retry is enough for one conflict: the bound counts retries, not attempts.
    const router = routerOn(log, { maxConflictRetries: 1 });
    expect(await send(router, [['bot', 0, 0, 10]])).toEqual(['OK']);
    const other = openLog(dataDir).log;
    await other.append('bot', Float64Array.of(5, 5, 20), 0n);
    // t=15 is now older than the stored head (20): a stale event once the head is reloaded.
    expect(await send(router, [['bot', 1, 1, 15], ['bot', 2, 2, 30]])).toEqual(['STALE', 'OK']);
    expect(await timestamps(log, 'bot')).toEqual([10, 20, 30]);
    expect(router.stats().conflicts).toBe(1);
  });

  it('answers `ERR conflict, retry` once the conflicts outnumber the retries, and recovers after', async () => {
    const { log, dataDir } = openLog();
    const router = routerOn(log, { maxConflictRetries: 0 });
    expect(await send(router, [['bot', 0, 0, 10]])).toEqual(['OK']);
    await openLog(dataDir).log.append('bot', Float64Array.of(5, 5, 20), 0n);
    expect(await send(router, [['bot', 2, 2, 30], ['bot', 2, 2, 30]])).toEqual(['ERR conflict, retry', 'ERR conflict, retry']);
    expect(await send(router, [['bot', 2, 2, 30]])).toEqual(['OK']);
    expect(await timestamps(log, 'bot')).toEqual([10, 20, 30]);
  });

  it('tells resends older than the head apart through the history, in order with what follows', async () => {
    const { log } = openLog();
    const router = routerOn(log);
    expect(await send(router, [['bot', 1, 1, 10], ['bot', 2, 2, 20], ['bot', 3, 3, 30]])).toEqual(['OK', 'OK', 'OK']);
    const replies = new Replies();
    const events: Array<[string, number, number, number]> = [
      ['bot', 1, 1, 10], // stored: DUP
      ['bot', 9, 9, 20], // stored at 20 with another position: STALE
      ['bot', 4, 4, 40],
      ['other', 0, 0, 1],
    ];
    events.forEach(([robot, x, y, t], slot) => router.route(robot, Float64Array.of(x, y, t), replies, slot));
    // Routed while 'bot' may still be looking up its history: must wait for it, in order.
    setImmediate(() => router.route('bot', Float64Array.of(4, 4, 40), replies, 4));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await router.whenIdle();
    expect(replies.statuses).toEqual(['DUP', 'STALE', 'OK', 'OK', 'DUP']);
    expect(await timestamps(log, 'bot')).toEqual([10, 20, 30, 40]);
  });

  it('refuses events past the mailbox bound and takes them again once it drains', async () => {
    const { log } = openLog();
    const router = routerOn(log, { maxMailbox: 2 });
    expect(await send(router, [['bot', 0, 0, 1], ['bot', 0, 0, 2], ['bot', 0, 0, 3]])).toEqual(['OK', 'OK', 'refused']);
    expect(await send(router, [['bot', 0, 0, 3]])).toEqual(['OK']);
  });

  it('answers every event `ERR unavailable` when the log cannot take them, and counts the failures', async () => {
    const { log } = openLog();
    const router = routerOn(log);
    expect(await send(router, [['a', 0, 0, 1], ['b', 0, 0, 1]])).toEqual(['OK', 'OK']);
    await log.close();
    expect(await send(router, [['a', 0, 0, 2], ['b', 0, 0, 2], ['a', 0, 0, 3]])).toEqual([
      'ERR unavailable',
      'ERR unavailable',
      'ERR unavailable',
    ]);
    expect(router.stats().failures).toBe(2);
    // The heads are forgotten: the next events read them again (and fail again on a closed log).
    expect(await send(router, [['a', 0, 0, 4]])).toEqual(['ERR unavailable']);
    expect(router.stats().failures).toBe(3);
  });
});
