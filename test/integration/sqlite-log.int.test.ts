// The embedded SQLite log: run through the EventLog contract, plus what only this adapter promises
// (durability across reopen, append-only table, per-append conflicts in a group commit, and live
// delivery of another connection's commits through polling).

import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/domain/errors.js';
import { columnsToChunks, LOG_START, type RecordedChunk, type Subscription } from '../../src/store/event-log.js';
import { LOG_FILE_NAME } from '../../src/store/sqlite/schema.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { block, eventLogContract, joined, readWholeStream, series, values } from '../contract/event-log.contract.js';
import { mulberry32, randomInt } from '../../src/tools/random.js';
import { eventually } from '../support/eventually.js';

function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'telemetry-sqlite-log-'));
}

// Reads join the per-stream index, the unindexed chain and the commits not yet merged into rows: run
// the contract with the defaults, with every commit merged and every row indexed at once, and with
// nothing merged or indexed until close (every read finds its events in the commits).
const variants = [
  ['', {}],
  [', merging every commit, indexing every row', { mergeCommits: 1, indexEveryRows: 1 }],
  [', never merging or indexing while open', { mergeCommits: Number.MAX_SAFE_INTEGER, mergeWhenIdle: false, indexEveryRows: Number.MAX_SAFE_INTEGER }],
] as const;
for (const [label, options] of variants) {
  eventLogContract(`SqliteEventLog${label}`, async () => {
    const dataDir = tempDataDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 20, ...options });
    return {
      log,
      async cleanup() {
        await log.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
}

/** Chunks copied out of the call that delivered them (their views are only valid during it). */
function copies(chunks: readonly RecordedChunk[]): RecordedChunk[] {
  return chunks.map((chunk) => ({ ...chunk, events: chunk.events.slice() }));
}

function chunkFields(chunk: RecordedChunk) {
  return { position: chunk.position, stream: chunk.stream, firstRevision: chunk.firstRevision, events: Array.from(chunk.events) };
}

describe('SqliteEventLog specifics', () => {
  let dataDir: string;
  const opened: Array<{ close(): unknown }> = [];
  const subscriptions: Subscription[] = [];

  function open(options: { readonly?: boolean; pollIntervalMs?: number; mergeCommits?: number; mergeWhenIdle?: boolean } = {}): SqliteEventLog {
    const log = new SqliteEventLog({ dataDir, ...options });
    opened.push(log);
    return log;
  }

  beforeEach(() => {
    dataDir = tempDataDir();
  });

  afterEach(async () => {
    for (const s of subscriptions.splice(0)) await s.close();
    for (const o of opened.splice(0).reverse()) await o.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps committed events across close and reopen', async () => {
    const first = open();
    const a = await first.append('robot-a', series(1, 3), 'no_stream');
    const b = await first.append('robot-b', series(2, 2), 'no_stream');
    const c = await first.append('robot-a', series(3, 1), a.nextExpectedRevision);
    await first.close();

    const reopened = open();
    expect(await reopened.listStreams()).toEqual(['robot-a', 'robot-b']);
    expect(await reopened.lastPosition()).toBe(c.position);
    expect(values(await readWholeStream(reopened, 'robot-a'))).toEqual(values(joined(series(1, 3), series(3, 1))));
    expect(values(await readWholeStream(reopened, 'robot-b'))).toEqual(values(series(2, 2)));
    expect((await reopened.head('robot-a'))!.revision).toBe(3n);
    expect((await reopened.readAll(LOG_START, 100)).map((x) => x.position)).toEqual([a.position, b.position, c.position]);

    // The reopened log carries on from the stored head.
    const d = await reopened.append('robot-a', series(4, 2), 3n);
    expect(d.nextExpectedRevision).toBe(5n);
    expect(d.position).toBeGreaterThan(c.position);
    const error = await reopened.append('robot-b', series(5, 1), 'no_stream').catch((e: unknown) => e);
    expect(hasCode(error, 'REVISION_CONFLICT')).toBe(true);
  });

  it('commits an append queued just before close', async () => {
    const first = open();
    const pending = first.append('robot-a', series(1, 2), 'no_stream');
    await first.close();
    await expect(pending).resolves.toMatchObject({ nextExpectedRevision: 1n });
    await expect(first.append('robot-a', series(2, 1), 1n)).rejects.toSatisfy((e) => hasCode(e, 'STORE_UNAVAILABLE'));

    const reopened = open();
    expect(values(await readWholeStream(reopened, 'robot-a'))).toEqual(values(series(1, 2)));
  });

  it('stores float64 values bit for bit, including -0 and NaN', async () => {
    const log = open();
    const events = block([-0, Number.NaN, 0], [Number.MIN_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER]);
    await log.append('robot-a', events, 'no_stream');
    await log.close();
    const chunk = await open().readStream('robot-a', 0n, 10);
    const stored = new Uint8Array(chunk!.events.buffer, chunk!.events.byteOffset, chunk!.events.byteLength);
    expect(Array.from(stored)).toEqual(Array.from(new Uint8Array(events.buffer)));
  });

  it('refuses UPDATE and DELETE on the commits, the streams\' rows and the streams', async () => {
    const log = open({ mergeCommits: 1 });
    await log.append('robot-a', series(1, 2), 'no_stream');
    await log.append('robot-b', series(2, 1), 'no_stream');
    await log.close(); // merges what is left: both appends are in rows too

    const db = new Database(join(dataDir, LOG_FILE_NAME));
    opened.push(db);
    expect(db.prepare('SELECT (SELECT count(*) FROM commits), (SELECT count(*) FROM chunks)').raw().get()).toEqual([2, 2]);
    // Merged, the commits' events are dropped (the one change they take); anything else is refused.
    expect(db.prepare('SELECT count(events) FROM commits').pluck().get()).toBe(0);
    expect(() => db.prepare("UPDATE commits SET events = x'00'").run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE commits SET directory = '[]'").run()).toThrow(/append-only/);
    expect(() => db.prepare('UPDATE chunks SET events = events').run()).toThrow(/append-only/);
    for (const table of ['commits', 'chunks']) {
      expect(() => db.prepare(`UPDATE ${table} SET position = position + 10 WHERE position = 1`).run()).toThrow(/append-only/);
      expect(() => db.prepare(`DELETE FROM ${table} WHERE position = 1`).run()).toThrow(/append-only/);
      expect(() => db.prepare(`DELETE FROM ${table}`).run()).toThrow(/append-only/);
    }
    expect(() => db.prepare("UPDATE streams SET name = 'x'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM streams').run()).toThrow(/append-only/);
    expect(db.prepare('SELECT (SELECT count(*) FROM commits), (SELECT count(*) FROM chunks)').raw().get()).toEqual([2, 2]);

    expect(values(await readWholeStream(open(), 'robot-a'))).toEqual(values(series(1, 2)));
  });

  it('drops a merged commit\'s copy of its events, and reads the log in order from the streams\' rows instead', async () => {
    const log = open({ pollIntervalMs: 0, mergeCommits: 2 });
    const heads = new Map<string, bigint | 'no_stream'>();
    for (let t = 0; t < 7; t++) {
      // Several streams per commit, one of them twice in the same commit.
      await Promise.all(['a', 'b', 'c', 'a'].map((stream, i) => {
        const expected = heads.get(stream) ?? 'no_stream';
        const events = series(t * 100 + i * 10, 1 + ((t + i) % 3));
        heads.set(stream, expected === 'no_stream' ? BigInt(events.length / 3 - 1) : expected + BigInt(events.length / 3));
        return log.append(stream, events, expected);
      }));
    }
    const whole = copies(await log.readAll(LOG_START, 100_000)).map(chunkFields);
    expect(whole).toHaveLength(28);
    await log.close(); // merges everything: every commit's events dropped

    const db = new Database(join(dataDir, LOG_FILE_NAME));
    opened.push(db);
    expect(db.prepare('SELECT count(*), count(events) FROM commits').raw().get()).toEqual([7, 0]);
    const reopened = open({ pollIntervalMs: 0, mergeCommits: Number.MAX_SAFE_INTEGER, mergeWhenIdle: false });
    expect(copies(await reopened.readAll(LOG_START, 100_000)).map(chunkFields)).toEqual(whole);
    expect(copies(await reopened.readAll(whole[9]!.position, 100_000)).map(chunkFields)).toEqual(whole.slice(10));
    const paged: ReturnType<typeof chunkFields>[] = [];
    for (let after = LOG_START; ; ) {
      const page = copies(await reopened.readAll(after, 5));
      if (page.length === 0) break;
      paged.push(...page.map(chunkFields));
      after = page[page.length - 1]!.position;
    }
    expect(paged).toEqual(whole);
    // A commit not yet merged keeps its events; nothing else of a commit ever changes.
    await reopened.append('b', series(999, 1), heads.get('b') as bigint);
    expect(() => db.prepare('UPDATE commits SET events = NULL WHERE position = (SELECT max(position) FROM commits)').run()).toThrow(/append-only/);
    expect(() => db.prepare("UPDATE commits SET directory = '[]', events = NULL WHERE position = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('UPDATE commits SET events = x\'00\' WHERE position = 1').run()).toThrow(/append-only/);
    expect((await reopened.readAll(whole[27]!.position, 10)).map((chunk) => chunk.stream)).toEqual(['b']);
  });

  it('refuses any stream row that does not continue the stream\'s rows, whoever inserts it', async () => {
    const log = open({ mergeCommits: Number.MAX_SAFE_INTEGER, mergeWhenIdle: false });
    await log.append('robot-a', series(1, 2), 'no_stream'); // commit 1: revisions 0-1 of stream 1, not in rows yet
    const db = new Database(join(dataDir, LOG_FILE_NAME));
    opened.push(db);
    const insert = db.prepare('INSERT INTO chunks (position, stream_id, first_rev, count, events, prev, log_position) VALUES (?, 1, ?, ?, ?, ?, 1)');
    const one = Buffer.from(series(1, 1).buffer);
    const two = Buffer.from(series(1, 2).buffer);
    expect(() => insert.run(1, 1, 1, one, null)).toThrow(/revision conflict/); // leaves a gap
    expect(() => insert.run(1, 0, 2, two, 7)).toThrow(/revision conflict/); // links to a row the stream does not end at
    expect(() => db.prepare('INSERT INTO chunks (stream_id, first_rev, count, events, prev) VALUES (1, 0, 2, ?, NULL)').run(two)).toThrow(/needs its position/);
    expect(db.prepare('SELECT merged_rev, last_position FROM heads WHERE stream_id = 1').get()).toEqual({ merged_rev: 0, last_position: null });
    insert.run(1, 0, 1, one, null);
    expect(db.prepare('SELECT merged_rev, last_position FROM heads WHERE stream_id = 1').get()).toEqual({ merged_rev: 1, last_position: 1 });
    expect(() => insert.run(2, 0, 1, one, 1)).toThrow(/revision conflict/); // overlaps revision 0
    // Reads take revision 0 from the row and revision 1 from the commit.
    expect(values((await log.readStream('robot-a', 0n, 10))!.events)).toEqual(values(series(1, 2)));
  });

  it('fails only the conflicting append of a group commit; the others in the same tick commit', async () => {
    const log = open();
    const a = await log.append('robot-a', series(1, 2), 'no_stream');
    await log.append('robot-b', series(2, 1), 'no_stream');
    const before = await log.lastPosition();

    // All four are queued in the same event-loop turn, so they share one transaction.
    const outcomes = await Promise.allSettled([
      log.append('robot-a', series(3, 2), a.nextExpectedRevision),
      log.append('robot-b', series(4, 1), 5n), // stale: robot-b's head is 0
      log.append('robot-c', series(5, 3), 'no_stream'),
      log.append('robot-d', series(6, 1), 'any'),
    ]);

    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(hasCode((outcomes[1] as PromiseRejectedResult).reason, 'REVISION_CONFLICT')).toBe(true);
    const committed = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value);
    expect(committed.map((r) => r.nextExpectedRevision)).toEqual([3n, 2n, 0n]);
    // One transaction: contiguous positions right after what was there.
    expect(committed.map((r) => r.position)).toEqual([before + 1n, before + 2n, before + 3n]);

    expect(values(await readWholeStream(log, 'robot-a'))).toEqual(values(joined(series(1, 2), series(3, 2))));
    expect(values(await readWholeStream(log, 'robot-b'))).toEqual(values(series(2, 1)));
    expect(values(await readWholeStream(log, 'robot-c'))).toEqual(values(series(5, 3)));
    expect(values(await readWholeStream(log, 'robot-d'))).toEqual(values(series(6, 1)));
    expect(await log.lastPosition()).toBe(before + 3n);
  });

  it('checks appends to one stream in the same tick against each other, in call order', async () => {
    const log = open();
    const outcomes = await Promise.allSettled([
      log.append('robot-a', series(1, 2), 'no_stream'),
      log.append('robot-a', series(2, 1), 1n), // sees the first, queued ahead of it in the same batch
      log.append('robot-a', series(3, 1), 1n), // stale by now
      log.append('robot-a', series(4, 1), 'any'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(hasCode((outcomes[2] as PromiseRejectedResult).reason, 'REVISION_CONFLICT')).toBe(true);
    expect(values(await readWholeStream(log, 'robot-a'))).toEqual(
      values(joined(series(1, 2), series(2, 1), series(4, 1))),
    );
  });

  it('delivers appends made through another instance on the same data dir, by polling', async () => {
    const writer = open({ pollIntervalMs: 0 });
    const a = await writer.append('robot-a', series(1, 2), 'no_stream');

    const reader = open({ pollIntervalMs: 20 });
    const seen: RecordedChunk[] = [];
    let notify: (() => void) | undefined;
    let failure: unknown;
    let caughtUp!: (position: bigint) => void;
    const caughtUpP = new Promise<bigint>((resolve) => (caughtUp = resolve));
    subscriptions.push(
      reader.subscribe(LOG_START, {
        onChunks(chunks) {
          for (const c of chunks) seen.push({ ...c, events: c.events.slice() });
          notify?.();
        },
        onCaughtUp: (position) => caughtUp(position),
        onError(error) {
          failure = error;
        },
      }),
    );
    expect(await caughtUpP).toBe(a.position);
    expect(seen.map((c) => c.position)).toEqual([a.position]);

    const until = (position: bigint) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if ((seen[seen.length - 1]?.position ?? LOG_START) >= position) resolve();
        };
        notify = check;
        check();
      });

    const b = await writer.append('robot-b', series(2, 3), 'no_stream');
    const c = await writer.append('robot-a', series(3, 1), a.nextExpectedRevision);
    await until(c.position);

    expect(seen.map((x) => x.position)).toEqual([a.position, b.position, c.position]);
    expect(seen.map((x) => x.stream)).toEqual(['robot-a', 'robot-b', 'robot-a']);
    expect(seen.map((x) => x.firstRevision)).toEqual([0n, 0n, 2n]);
    expect(values(seen[1]!.events)).toEqual(values(series(2, 3)));
    expect(values(seen[2]!.events)).toEqual(values(series(3, 1)));

    // A local commit after a foreign one fills the gap from the database, in order, without repeats.
    const d = await writer.append('robot-c', series(4, 1), 'no_stream');
    const e = await reader.append('robot-d', series(5, 1), 'no_stream');
    await until(e.position);
    expect(seen.map((x) => x.position)).toEqual([a.position, b.position, c.position, d.position, e.position]);
    expect(e.position).toBe(d.position + 1n);
    expect(failure).toBeUndefined();
  });

  it('delivers nothing more once a handler closes its subscription, even mid-way through a multi-page read', async () => {
    const writer = open({ pollIntervalMs: 0 });
    const reader = open({ pollIntervalMs: 0 });
    const big = 40_000; // events per chunk: two fill a 65,536-event page, the third spills onto the next
    const first = await writer.append('robot-a', series(1, 1), 'no_stream');

    const deliveries: bigint[][] = [];
    let caughtUp!: () => void;
    const caughtUpP = new Promise<void>((resolve) => (caughtUp = resolve));
    let closedInHandler!: () => void;
    const closedP = new Promise<void>((resolve) => (closedInHandler = resolve));
    let subscription: Subscription | undefined;
    subscription = reader.subscribe(first.position, {
      onChunks(chunks) {
        deliveries.push(chunks.map((c) => c.position));
        void subscription!.close();
        // The reader delivers synchronously; anything more it would deliver lands before this fires.
        setImmediate(closedInHandler);
      },
      onCaughtUp: () => caughtUp(),
    });
    subscriptions.push(subscription);
    await caughtUpP;

    // Foreign commits leave a gap, so the reader's own next commit makes it page through the database.
    let rev = first.nextExpectedRevision;
    for (let i = 0; i < 3; i++) rev = (await writer.append('robot-a', series(10 + i, big), rev)).nextExpectedRevision;
    await reader.append('robot-b', series(20, 1), 'no_stream');
    await closedP;

    expect(deliveries).toHaveLength(1);
  });

  it('hands its own commits to a handler that takes columns as the same chunks, in order, that another handler gets as objects', async () => {
    const log = open({ pollIntervalMs: 0 });
    const asObjects: RecordedChunk[] = [];
    const asColumns: RecordedChunk[] = [];
    let columnCalls = 0;
    const live: Array<Promise<void>> = [];
    for (const handler of [
      { onChunks: (chunks: readonly RecordedChunk[]) => void asObjects.push(...copies(chunks)) },
      {
        onChunks: (chunks: readonly RecordedChunk[]) => void asColumns.push(...copies(chunks)),
        onColumns: (columns: Parameters<typeof columnsToChunks>[0]) => {
          columnCalls++;
          asColumns.push(...copies(columnsToChunks(columns)));
        },
      },
    ]) {
      live.push(new Promise<void>((resolve) => subscriptions.push(log.subscribe(LOG_START, { ...handler, onCaughtUp: () => resolve() }))));
    }
    await Promise.all(live);
    // A round of appends with a refused one among them, a single append, and one larger than a row.
    await log.append('robot-a', series(1, 2), 'no_stream');
    const round = await log.appendMany({
      streams: ['robot-a', 'robot-b', 'robot-c'],
      expected: Float64Array.of(1, -1, 5),
      counts: Int32Array.of(3, 1, 2),
      events: series(10, 6),
    });
    expect(Array.from(round.firstRevisions)).toEqual([2, 0, -1]);
    await log.append('robot-b', series(20, 2500), 0n);
    expect(columnCalls).toBeGreaterThanOrEqual(3);
    expect(asColumns.map(chunkFields)).toEqual(asObjects.map(chunkFields));
    // And what was handed on live is what the log stored.
    expect(asObjects.map(chunkFields)).toEqual((await log.readAll(LOG_START, 100_000)).map(chunkFields));
    expect(asObjects.map((chunk) => [chunk.stream, chunk.firstRevision, chunk.events.length / 3])).toEqual([
      ['robot-a', 0n, 2],
      ['robot-a', 2n, 3],
      ['robot-b', 0n, 1],
      ['robot-b', 1n, 2500],
    ]);
  });

  it('links a stream’s rows right when two writers take turns on it, each after the other moved it on', async () => {
    const a = open({ pollIntervalMs: 0 });
    const b = open({ pollIntervalMs: 0 });
    let expected = (await a.append('robot-a', series(1, 2), 'no_stream')).nextExpectedRevision;
    // Each writer remembers the stream's last row as it left it; the other has moved it since.
    for (let turn = 0; turn < 6; turn++) {
      const writer = turn % 2 === 0 ? b : a;
      expected = (await writer.append('robot-a', series(10 + turn, 3), expected)).nextExpectedRevision;
    }
    // A stale expectation is still refused, however the writer remembers the stream.
    await expect(a.append('robot-a', series(99, 1), expected - 1n)).rejects.toSatisfy((error: unknown) => hasCode(error, 'REVISION_CONFLICT'));
    const all = values(await readWholeStream(a, 'robot-a'));
    expect(all).toEqual(values(joined(series(1, 2), ...Array.from({ length: 6 }, (_, turn) => series(10 + turn, 3)))));
    expect(values(await readWholeStream(b, 'robot-a'))).toEqual(all);
    await a.close();
    await b.close();
    // Reopened, every row is indexed by following the links: a wrong one would lose or repeat events.
    expect(values(await readWholeStream(open(), 'robot-a'))).toEqual(all);
  });

  it('starts the write-ahead log over again and again as the checkpointer catches up beside the writer, not only at the writer’s threshold', async () => {
    const log = open({ pollIntervalMs: 0 });
    /** Reads `length` bytes at `offset` of one of the log's files. */
    const bytesOf = (suffix: string, offset: number, length: number): Buffer => {
      const bytes = Buffer.alloc(length);
      const fd = openSync(join(dataDir, `${LOG_FILE_NAME}${suffix}`), 'r');
      try {
        readSync(fd, bytes, 0, length, offset);
      } finally {
        closeSync(fd);
      }
      return bytes;
    };
    /** The log's checkpoint sequence number: its header counts the times it was started over. */
    const restartsSoFar = (): number => bytesOf('-wal', 0, 16).readUInt32BE(12);
    /**
     * Whether every frame of the write-ahead log is in the database file: the WAL index (the -shm
     * file, native byte order) holds the last valid frame at byte 16 and the frames copied at 96.
     */
    const caughtUp = (): boolean => {
      const index = bytesOf('-shm', 0, 100);
      const last = endianness() === 'LE' ? index.readUInt32LE(16) : index.readUInt32BE(16);
      const copied = endianness() === 'LE' ? index.readUInt32LE(96) : index.readUInt32BE(96);
      return last > 0 && copied === last;
    };
    let expected = (await log.append('robot-a', series(0, 4000), 'no_stream')).nextExpectedRevision;
    const before = restartsSoFar();
    for (let i = 1; i < 250; i++) {
      // 96 KB per commit, 24 MB in all: past the writer's own 16 MiB threshold once.
      expected = (await log.append('robot-a', series(i, 4000), expected)).nextExpectedRevision;
      // Every 20 commits, the checkpointer is let catch up (back to back, whether it does before
      // the next commit is a race): the next commit then starts the log over.
      if (i % 20 === 0) await eventually(async () => caughtUp(), 10_000, `the checkpointer to copy commit ${i}`);
    }
    // The writer's threshold alone would start it over once or twice in these 24 MB.
    expect(restartsSoFar() - before).toBeGreaterThanOrEqual(10);
    expect(expected).toBe(250n * 4000n - 1n);
  });

  it('reads another instance’s commits through a read-only instance', async () => {
    const writer = open();
    await writer.append('robot-a', series(1, 2), 'no_stream');
    const reader = open({ readonly: true, pollIntervalMs: 0 });
    expect((await reader.head('robot-a'))!.revision).toBe(1n);
    await writer.append('robot-a', series(2, 1), 1n);
    await writer.append('robot-b', series(3, 1), 'no_stream');
    expect((await reader.head('robot-a'))!.revision).toBe(2n);
    expect(await reader.listStreams()).toEqual(['robot-a', 'robot-b']);
    expect(values(await readWholeStream(reader, 'robot-b'))).toEqual(values(series(3, 1)));
    const error = await reader.append('robot-a', series(9, 1), 'any').catch((e: unknown) => e);
    expect(hasCode(error, 'STORE_UNAVAILABLE')).toBe(true);
  });
});

describe('SqliteEventLog identity', () => {
  it('is the same for every connection to one data dir, across reopen, and differs between data dirs', async () => {
    const first = tempDataDir();
    const second = tempDataDir();
    try {
      const a = new SqliteEventLog({ dataDir: first, pollIntervalMs: 0 });
      const b = new SqliteEventLog({ dataDir: first, pollIntervalMs: 0 });
      const other = new SqliteEventLog({ dataDir: second, pollIntervalMs: 0 });
      const identity = await a.identity();
      expect(await b.identity()).toBe(identity);
      expect(await other.identity()).not.toBe(identity);
      await Promise.all([a.close(), b.close(), other.close()]);
      const reopened = new SqliteEventLog({ dataDir: first, readonly: true, pollIntervalMs: 0 });
      expect(await reopened.identity()).toBe(identity);
      await reopened.close();
    } finally {
      rmSync(first, { recursive: true, force: true });
      rmSync(second, { recursive: true, force: true });
    }
  });
});

describe('SqliteEventLog scanStream', () => {
  it('visits exactly the stored events in order, across scan windows and odd bit patterns', async () => {
    const dataDir = tempDataDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      // Bit patterns that a text round trip would mangle: zero bytes, -0, tiny and huge numbers.
      const odd = block([0, -0, 0], [5e-324, -1.7976931348623157e308, 1], [256, 0x00ff00ff, 2]);
      let head = (await log.append('odd', odd, 'no_stream')).nextExpectedRevision;
      // Enough revisions for several scan windows, in chunks of assorted sizes.
      const sizes = [1, 70_000, 3, 65_536, 2];
      let t = 3;
      for (const size of sizes) {
        const events = new Float64Array(size * 3);
        for (let i = 0; i < size; i++) events.set([i % 97, -(i % 89), t++], i * 3);
        head = (await log.append('odd', events, head)).nextExpectedRevision;
      }
      const seen: number[] = [];
      const count = await log.scanStream('odd', (events) => {
        for (const value of events) seen.push(value);
      });
      const stored = await readWholeStream(log, 'odd', 50_000);
      expect(count).toBe(stored.length / 3);
      expect(count).toBe(3 + sizes.reduce((a, b) => a + b, 0));
      expect(Buffer.from(Float64Array.from(seen).buffer).equals(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength))).toBe(true);
      expect(Object.is(seen[1], -0)).toBe(true);
      expect(await log.scanStream('nobody', () => undefined)).toBe(0);
    } finally {
      await log.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('SqliteEventLog index and chain', () => {
  // Tables every format has had as they are.
  const META_AND_STREAMS = `
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;`;
  // Formats 2 and 3: rows linked to their stream's previous one, and heads holding the next revision.
  const LINKED_ROWS = `
    CREATE TABLE chunks (
      position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL REFERENCES streams(id),
      first_rev INTEGER NOT NULL CHECK (first_rev >= 0), count INTEGER NOT NULL CHECK (count > 0),
      events BLOB NOT NULL CHECK (length(events) = count * 24), prev INTEGER) STRICT;
    CREATE TABLE heads (
      stream_id INTEGER PRIMARY KEY REFERENCES streams(id), next_rev INTEGER NOT NULL,
      last_position INTEGER, indexed_rev INTEGER NOT NULL) STRICT;`;
  const STREAMS_HEAD_2_3 = `
    CREATE TRIGGER streams_head AFTER INSERT ON streams
      BEGIN INSERT INTO heads (stream_id, next_rev, last_position, indexed_rev) VALUES (NEW.id, 0, NULL, 0); END;`;
  // Formats 3 and 4: the per-stream index as groups of rows.
  const CHUNK_GROUPS = `
    CREATE TABLE chunk_groups (
      stream_id INTEGER NOT NULL, first_rev INTEGER NOT NULL,
      positions TEXT NOT NULL CHECK (json_array_length(positions) > 0), PRIMARY KEY (stream_id, first_rev)) STRICT, WITHOUT ROWID;`;

  // The previous release's layout (format 1): chunks keyed by (stream_id, first_rev), no chains.
  const FORMAT_1 = `${META_AND_STREAMS}
    CREATE TABLE chunks (
      position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL REFERENCES streams(id),
      first_rev INTEGER NOT NULL CHECK (first_rev >= 0), count INTEGER NOT NULL CHECK (count > 0),
      events BLOB NOT NULL CHECK (length(events) = count * 24), UNIQUE (stream_id, first_rev)) STRICT;
    CREATE TRIGGER chunks_contiguous BEFORE INSERT ON chunks
      WHEN NEW.first_rev <> coalesce((SELECT first_rev + count FROM chunks WHERE stream_id = NEW.stream_id ORDER BY first_rev DESC LIMIT 1), 0)
      BEGIN SELECT RAISE(ABORT, 'revision conflict'); END;
    CREATE TRIGGER chunks_append_only_update BEFORE UPDATE ON chunks BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    CREATE TRIGGER chunks_append_only_delete BEFORE DELETE ON chunks BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    INSERT INTO meta VALUES ('format', '1'), ('log_id', 'format-one-log');`;

  // Format 2's tables and the triggers format 3 replaced: one chunk_index entry per indexed row.
  const FORMAT_2 = `${META_AND_STREAMS}
    ${LINKED_ROWS}
    CREATE TABLE chunk_index (
      stream_id INTEGER NOT NULL, first_rev INTEGER NOT NULL, position INTEGER NOT NULL,
      PRIMARY KEY (stream_id, first_rev)) STRICT, WITHOUT ROWID;
    INSERT INTO meta VALUES ('format', '2'), ('log_id', 'format-two-log');`;
  const FORMAT_2_TRIGGERS = `
    CREATE TRIGGER chunks_contiguous BEFORE INSERT ON chunks
      WHEN NOT EXISTS (SELECT 1 FROM heads WHERE stream_id = NEW.stream_id AND next_rev = NEW.first_rev AND last_position IS NEW.prev)
      BEGIN SELECT RAISE(ABORT, 'revision conflict'); END;
    CREATE TRIGGER chunks_advance_head AFTER INSERT ON chunks
      BEGIN UPDATE heads SET next_rev = NEW.first_rev + NEW.count, last_position = NEW.position WHERE stream_id = NEW.stream_id; END;
    ${STREAMS_HEAD_2_3}`;

  // Format 3's layout: the rows were the log, each stream's head (next_rev) moved on by the row's trigger.
  const FORMAT_3 = `${META_AND_STREAMS}
    ${LINKED_ROWS}
    ${CHUNK_GROUPS}
    CREATE TRIGGER chunks_extend_head BEFORE INSERT ON chunks BEGIN
      SELECT RAISE(ABORT, 'a row needs its position') WHERE NEW.position < 1;
      UPDATE heads SET next_rev = NEW.first_rev + NEW.count, last_position = NEW.position
       WHERE stream_id = NEW.stream_id AND next_rev = NEW.first_rev AND last_position IS NEW.prev;
      SELECT RAISE(ABORT, 'revision conflict') WHERE changes() = 0;
    END;
    ${STREAMS_HEAD_2_3}
    INSERT INTO meta VALUES ('format', '3'), ('log_id', 'format-three-log');`;

  // Format 4's layout: commits, rows merged from them, and each stream's next revision in heads.
  const FORMAT_4 = `${META_AND_STREAMS}
    CREATE TABLE commits (
      position INTEGER PRIMARY KEY, appends INTEGER NOT NULL CHECK (appends > 0), directory TEXT NOT NULL, events BLOB) STRICT;
    CREATE TABLE chunks (
      position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL REFERENCES streams(id),
      first_rev INTEGER NOT NULL CHECK (first_rev >= 0), count INTEGER NOT NULL CHECK (count > 0),
      events BLOB NOT NULL CHECK (length(events) = count * 24), prev INTEGER, log_position INTEGER) STRICT;
    CREATE TABLE heads (
      stream_id INTEGER PRIMARY KEY REFERENCES streams(id), next_rev INTEGER NOT NULL, last_position INTEGER,
      indexed_rev INTEGER NOT NULL, merged_rev INTEGER NOT NULL DEFAULT 0) STRICT;
    ${CHUNK_GROUPS}
    CREATE TRIGGER chunks_extend_head BEFORE INSERT ON chunks BEGIN
      SELECT RAISE(ABORT, 'a row needs its position') WHERE NEW.position < 1;
      UPDATE heads SET merged_rev = NEW.first_rev + NEW.count, last_position = NEW.position
       WHERE stream_id = NEW.stream_id AND merged_rev = NEW.first_rev AND last_position IS NEW.prev
         AND next_rev >= NEW.first_rev + NEW.count;
      SELECT RAISE(ABORT, 'revision conflict') WHERE changes() = 0;
    END;
    CREATE TRIGGER streams_head AFTER INSERT ON streams
      BEGIN INSERT INTO heads (stream_id, next_rev, last_position, indexed_rev, merged_rev) VALUES (NEW.id, 0, NULL, 0, 0); END;
    INSERT INTO meta VALUES ('format', '4'), ('log_id', 'format-four-log'), ('legacy_end', '0'), ('merged_through', '1');`;

  const bytes = (...events: number[]) => Buffer.from(Float64Array.from(events).buffer);

  /** Formats 2 and 3: Bender's revisions 0-1, Calculon's 0, Bender's 2, then 3-4, as linked rows 1-4. */
  function insertLinkedRows(db: Database.Database): void {
    db.exec("INSERT INTO streams (id, name) VALUES (1, 'Bender'), (2, 'Calculon'), (3, 'Nobody')");
    const insert = db.prepare('INSERT INTO chunks (position, stream_id, first_rev, count, events, prev) VALUES (?, ?, ?, ?, ?, ?)');
    insert.run(1, 1, 0, 2, bytes(0, 0, 1, 3, 4, 2), null);
    insert.run(2, 2, 0, 1, bytes(1, 1, 1), null);
    insert.run(3, 1, 2, 1, bytes(3, 0, 3), 1);
    insert.run(4, 1, 3, 2, bytes(5, 5, 5, 6, 6, 6), 3);
  }

  /** The log file's columns of `heads`, and its stored format. */
  function layoutOf(): { heads: string[]; format: string } {
    const view = new Database(join(dataDir, LOG_FILE_NAME), { readonly: true });
    try {
      return {
        heads: view.prepare<[], string>("SELECT name FROM pragma_table_info('heads') ORDER BY cid").pluck().all(),
        format: view.prepare<[], string>("SELECT value FROM meta WHERE key = 'format'").pluck().get()!,
      };
    } finally {
      view.close();
    }
  }

  let dataDir: string;
  beforeEach(() => {
    dataDir = tempDataDir();
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Checks every read the log offers against the events appended, for each stream. */
  async function expectReadsMatch(log: SqliteEventLog, expected: Map<string, number[]>, random: () => number): Promise<void> {
    for (const [stream, events] of expected) {
      const count = events.length / 3;
      expect(values(await readWholeStream(log, stream, 7))).toEqual(events);
      const scanned: number[] = [];
      expect(await log.scanStream(stream, (block) => scanned.push(...block))).toBe(count);
      expect(scanned).toEqual(events);
      const head = await log.head(stream);
      expect(head).toEqual({ revision: BigInt(count - 1), x: events.at(-3), y: events.at(-2), timestamp: events.at(-1) });
      for (let probe = 0; probe < 20; probe++) {
        const from = randomInt(random, 0, count + 2);
        const max = randomInt(random, 1, 40);
        const chunk = await log.readStream(stream, BigInt(from), max);
        const want = events.slice(from * 3, Math.min(count, from + max) * 3);
        if (want.length === 0) expect(chunk).toBeNull();
        else expect(values(chunk!.events)).toEqual(want);
      }
    }
  }

  it('reads exactly what was appended wherever the index ends, across writers, reopen and read-only instances', async () => {
    const random = mulberry32(20261127);
    const expected = new Map<string, number[]>();
    const streams = ['a', 'b', 'c', 'd'];
    let t = 0;
    const appendSome = async (log: SqliteEventLog, rounds: number) => {
      for (let round = 0; round < rounds; round++) {
        // Several appends per group commit; some larger than one row (1,024 events).
        await Promise.all(streams.map(async (stream) => {
          if (random() < 0.3) return;
          const size = random() < 0.05 ? randomInt(random, 1000, 2100) : randomInt(random, 1, 5);
          const events = new Float64Array(size * 3);
          for (let i = 0; i < size; i++) events.set([random() * 100, random() * -100, t++], i * 3);
          const have = expected.get(stream) ?? [];
          const revision = have.length === 0 ? 'no_stream' : BigInt(have.length / 3 - 1);
          await log.append(stream, events, revision);
          expected.set(stream, have.concat(values(events)));
        }));
      }
    };
    // A writer that indexes every third row, then one that never indexes while open, then a
    // read-only view of tails nobody has indexed.
    const first = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 3 });
    await appendSome(first, 40);
    await expectReadsMatch(first, expected, random);
    const unindexing = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: Number.MAX_SAFE_INTEGER });
    await appendSome(unindexing, 15);
    await appendSome(first, 15);
    const reader = new SqliteEventLog({ dataDir, pollIntervalMs: 0, readonly: true });
    await expectReadsMatch(reader, expected, random);
    await expectReadsMatch(first, expected, random);
    await reader.close();
    await unindexing.close();
    await first.close();
    const reopened = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      await expectReadsMatch(reopened, expected, random);
      const db = new Database(join(dataDir, LOG_FILE_NAME), { readonly: true });
      // A clean close leaves every row indexed, once, in groups of several rows.
      expect(db.prepare('SELECT count(*) FROM heads WHERE indexed_rev < merged_rev').pluck().get()).toBe(0);
      expect(db.prepare('SELECT count(*) FROM commits WHERE events IS NOT NULL').pluck().get()).toBe(0);
      const grouped = db.prepare('SELECT count(*), count(DISTINCT j.value), max(json_array_length(g.positions)) FROM chunk_groups g, json_each(g.positions) j').raw().get();
      const rows = db.prepare('SELECT count(*) FROM chunks').pluck().get();
      expect(grouped).toEqual([rows, rows, expect.any(Number)]);
      expect((grouped as number[])[2]).toBeGreaterThanOrEqual(3);
      db.close();
    } finally {
      await reopened.close();
    }
  });

  it('migrates a format-1 log: same events, same positions, same identity, and appends continue', async () => {
    const db = new Database(join(dataDir, LOG_FILE_NAME));
    db.exec(FORMAT_1);
    db.exec("INSERT INTO streams (id, name) VALUES (1, 'Bender'), (2, 'Calculon'), (3, 'Nobody')");
    const insert = db.prepare('INSERT INTO chunks (stream_id, first_rev, count, events) VALUES (?, ?, ?, ?)');
    insert.run(1, 0, 2, bytes(0, 0, 1, 3, 4, 2));
    insert.run(2, 0, 1, bytes(1, 1, 1));
    insert.run(1, 2, 1, bytes(3, 0, 3));
    db.close();

    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      expect(await log.identity()).toBe('sqlite:format-one-log');
      expect(values((await log.readStream('Bender', 0n, 10))!.events)).toEqual([0, 0, 1, 3, 4, 2, 3, 0, 3]);
      expect(flattenPositions(await log.readAll(LOG_START, 10))).toEqual(['1 Bender@0', '2 Calculon@0', '3 Bender@2']);
      expect(await log.head('Nobody')).toBeNull();
      expect(await log.head('Calculon')).toEqual({ revision: 0n, x: 1, y: 1, timestamp: 1 });
      await expect(log.append('Bender', block([9, 9, 9]), 1n)).rejects.toSatisfy((e: unknown) => hasCode(e, 'REVISION_CONFLICT'));
      await log.append('Bender', block([6, 4, 4]), 2n);
      await log.append('Nobody', block([0, 0, 0]), 'no_stream');
      expect(values((await log.readStream('Bender', 2n, 10))!.events)).toEqual([3, 0, 3, 6, 4, 4]);
      expect(await log.head('Nobody')).toEqual({ revision: 0n, x: 0, y: 0, timestamp: 0 });
    } finally {
      await log.close();
    }
  });

  it('migrates a format-2 log: each indexed row becomes a group of one, the tail is grouped by the writer', async () => {
    const db = new Database(join(dataDir, LOG_FILE_NAME));
    db.exec(FORMAT_2);
    insertLinkedRows(db);
    // Bender's rows 1 and 3 are indexed, row 4 is its tail.
    db.exec('INSERT INTO heads VALUES (1, 5, 4, 3), (2, 1, 2, 1), (3, 0, NULL, 0)');
    db.exec('INSERT INTO chunk_index VALUES (1, 0, 1), (1, 2, 3), (2, 0, 2)');
    db.exec(FORMAT_2_TRIGGERS);
    db.close();

    const groupsIn = () => {
      const view = new Database(join(dataDir, LOG_FILE_NAME), { readonly: true });
      try {
        return view.prepare<[], { stream_id: number; first_rev: number; positions: string }>('SELECT * FROM chunk_groups ORDER BY stream_id, first_rev').all()
          .map((g) => `${g.stream_id}@${g.first_rev}:${g.positions}`);
      } finally {
        view.close();
      }
    };
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      expect(groupsIn()).toEqual(['1@0:[1]', '1@2:[3]', '2@0:[2]']);
      expect(await log.identity()).toBe('sqlite:format-two-log');
      expect(values((await log.readStream('Bender', 0n, 10))!.events)).toEqual([0, 0, 1, 3, 4, 2, 3, 0, 3, 5, 5, 5, 6, 6, 6]);
      expect(values((await log.readStream('Bender', 1n, 3))!.events)).toEqual([3, 4, 2, 3, 0, 3, 5, 5, 5]);
      expect(flattenPositions(await log.readAll(LOG_START, 10))).toEqual(['1 Bender@0', '2 Calculon@0', '3 Bender@2', '4 Bender@3']);
      expect(await log.head('Bender')).toEqual({ revision: 4n, x: 6, y: 6, timestamp: 6 });
      await expect(log.append('Bender', block([9, 9, 9]), 3n)).rejects.toSatisfy((e: unknown) => hasCode(e, 'REVISION_CONFLICT'));
      await log.append('Bender', block([7, 7, 7]), 4n);
      expect(values((await log.readStream('Bender', 4n, 10))!.events)).toEqual([6, 6, 6, 7, 7, 7]);
    } finally {
      await log.close();
    }
    // The writer grouped the old tail as it started, and its own row as it closed.
    expect(groupsIn()).toEqual(['1@0:[1]', '1@2:[3]', '1@3:[4]', '1@5:[5]', '2@0:[2]']);
  });

  it('migrates a format-3 log: heads lose next_rev, which the rows give; positions, groups and checks stay', async () => {
    const db = new Database(join(dataDir, LOG_FILE_NAME));
    db.exec(FORMAT_3);
    insertLinkedRows(db);
    // Bender's rows 1 and 3 are a group, row 4 its tail.
    db.exec("INSERT INTO chunk_groups VALUES (1, 0, '[1,3]'); UPDATE heads SET indexed_rev = 3 WHERE stream_id = 1");
    db.close();

    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      expect(layoutOf()).toEqual({ heads: ['stream_id', 'last_position', 'indexed_rev', 'merged_rev'], format: '5' });
      expect(await log.identity()).toBe('sqlite:format-three-log');
      expect(values((await log.readStream('Bender', 0n, 10))!.events)).toEqual([0, 0, 1, 3, 4, 2, 3, 0, 3, 5, 5, 5, 6, 6, 6]);
      expect(flattenPositions(await log.readAll(LOG_START, 10))).toEqual(['1 Bender@0', '2 Calculon@0', '3 Bender@2', '4 Bender@3']);
      expect(await log.head('Bender')).toEqual({ revision: 4n, x: 6, y: 6, timestamp: 6 });
      expect(await log.head('Nobody')).toBeNull();
      await expect(log.append('Bender', block([9, 9, 9]), 3n)).rejects.toSatisfy((e: unknown) => hasCode(e, 'REVISION_CONFLICT'));
      await log.append('Bender', block([7, 7, 7]), 4n);
      await log.append('Nobody', block([8, 8, 8]), 'no_stream');
      await log.append('Zoidberg', block([9, 9, 9]), 'no_stream');
      expect(flattenPositions(await log.readAll(4n, 10))).toEqual(['5 Bender@5', '6 Nobody@0', '7 Zoidberg@0']);
      expect(values((await log.readStream('Bender', 4n, 10))!.events)).toEqual([6, 6, 6, 7, 7, 7]);
    } finally {
      await log.close();
    }
  });

  it('migrates a format-4 log: heads lose next_rev, which the rows and the unmerged commits give', async () => {
    const db = new Database(join(dataDir, LOG_FILE_NAME));
    db.exec(FORMAT_4);
    db.exec("INSERT INTO streams (id, name) VALUES (1, 'Bender'), (2, 'Calculon'), (3, 'Nobody')");
    db.exec('UPDATE heads SET next_rev = 5 WHERE stream_id = 1; UPDATE heads SET next_rev = 2 WHERE stream_id = 2');
    // Commit 1 (Bender 0-1, Calculon 0) is merged into rows and its events dropped; commits 3 and 4 are not merged.
    const commit = db.prepare('INSERT INTO commits (position, appends, directory, events) VALUES (?, ?, ?, ?)');
    commit.run(1, 2, '[[1,0,2],[2,0,1]]', null);
    commit.run(3, 1, '[[1,2,1]]', bytes(3, 0, 3));
    commit.run(4, 2, '[[1,3,2],[2,1,1]]', bytes(5, 5, 5, 6, 6, 6, 2, 2, 2));
    const insert = db.prepare('INSERT INTO chunks (position, stream_id, first_rev, count, events, prev, log_position) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run(1, 1, 0, 2, bytes(0, 0, 1, 3, 4, 2), null, 1);
    insert.run(2, 2, 0, 1, bytes(1, 1, 1), null, 2);
    db.close();

    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    try {
      expect(layoutOf()).toEqual({ heads: ['stream_id', 'last_position', 'indexed_rev', 'merged_rev'], format: '5' });
      expect(await log.identity()).toBe('sqlite:format-four-log');
      expect(values((await log.readStream('Bender', 0n, 10))!.events)).toEqual([0, 0, 1, 3, 4, 2, 3, 0, 3, 5, 5, 5, 6, 6, 6]);
      expect(values((await log.readStream('Calculon', 0n, 10))!.events)).toEqual([1, 1, 1, 2, 2, 2]);
      expect(flattenPositions(await log.readAll(LOG_START, 10))).toEqual(['1 Bender@0', '2 Calculon@0', '3 Bender@2', '4 Bender@3', '5 Calculon@1']);
      expect(await log.head('Bender')).toEqual({ revision: 4n, x: 6, y: 6, timestamp: 6 });
      expect(await log.head('Calculon')).toEqual({ revision: 1n, x: 2, y: 2, timestamp: 2 });
      expect(await log.head('Nobody')).toBeNull();
      await expect(log.append('Calculon', block([9, 9, 9]), 0n)).rejects.toSatisfy((e: unknown) => hasCode(e, 'REVISION_CONFLICT'));
      await log.append('Calculon', block([7, 7, 7]), 1n);
      await log.append('Nobody', block([8, 8, 8]), 'no_stream');
      expect(flattenPositions(await log.readAll(5n, 10))).toEqual(['6 Calculon@2', '7 Nobody@0']);
    } finally {
      await log.close();
    }
    // Closing merged every commit into the rows, the old ones with the new.
    const reopened = new SqliteEventLog({ dataDir, pollIntervalMs: 0, readonly: true });
    try {
      expect(values((await reopened.readStream('Calculon', 0n, 10))!.events)).toEqual([1, 1, 1, 2, 2, 2, 7, 7, 7]);
      const view = new Database(join(dataDir, LOG_FILE_NAME), { readonly: true });
      expect(view.prepare('SELECT stream_id || \':\' || merged_rev FROM heads ORDER BY stream_id').pluck().all()).toEqual(['1:5', '2:3', '3:1']);
      expect(view.prepare('SELECT count(*) FROM commits WHERE events IS NOT NULL').pluck().get()).toBe(0);
      view.close();
    } finally {
      await reopened.close();
    }
  });
});

function flattenPositions(chunks: RecordedChunk[]): string[] {
  return chunks.map((chunk) => `${chunk.position} ${chunk.stream}@${chunk.firstRevision}`);
}
