// The embedded log's writer thread: batches committed in order and answered in order, a thread that
// cannot work failing its batches with the reason (never answering them as committed), and a log
// nobody closed not holding its process open. Real threads, real SQLite files.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/domain/errors.js';
import { APPEND_CONFLICT, APPEND_FAILED, EXPECT_NO_STREAM } from '../../src/store/event-log.js';
import type { WriterBatch } from '../../src/store/sqlite/log-writer.js';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { LOG_FILE_NAME, openLogDatabase } from '../../src/store/sqlite/schema.js';
import { WriterThread } from '../../src/store/sqlite/writer-thread.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir } from '../support/temp-dir.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Resolves once every commit in the log is in the streams' rows (the writer merges after answering). */
function merged(db: Database): Promise<void> {
  const behind = db.prepare<[], number>("SELECT count(*) FROM commits WHERE position > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'merged_through')").pluck();
  return eventually(async () => behind.get() === 0, 10_000, 'the writer to merge every commit');
}

function tempDir(): string {
  const dir = makeTempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

/** One new stream per name, `count` events each, (x, y, t) = (i, i, i). */
function batchOf(names: string[], count: number): WriterBatch {
  const events = new Float64Array(names.length * count * 3);
  for (let i = 0; i < events.length; i++) events[i] = Math.floor(i / 3);
  return {
    ids: new Int32Array(names.length),
    names,
    expected: new Float64Array(names.length).fill(EXPECT_NO_STREAM),
    counts: new Int32Array(names.length).fill(count),
    events,
  };
}

describe('WriterThread', () => {
  it('commits batches sent back to back in order, and answers each with its appends\' positions', async () => {
    const dataDir = tempDir();
    openLogDatabase(dataDir).close(); // the schema, as SqliteEventLog creates it before the thread
    const writer = new WriterThread({ dataDir, indexEveryRows: undefined });
    cleanups.push(() => writer.close());

    const [first, second] = await Promise.all([writer.commit(batchOf(['a', 'b'], 2)), writer.commit(batchOf(['c'], 1500))]);
    expect(Array.from(first.firstRevisions)).toEqual([0, 0]);
    expect(first.created).toEqual([['a', 1], ['b', 2]]);
    expect(Array.from(first.positions)).toEqual([1, 2]);
    // One append of 1,500 events, after the first batch's two.
    expect(Array.from(second.positions)).toEqual([3]);
    expect(second.created).toEqual([['c', 3]]);
  });

  it('indexes each stream\'s rows as one group in the merge that writes the group\'s last row, first groups staggered', async () => {
    const dataDir = tempDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 2, mergeCommits: 1 });
    cleanups.push(() => log.close());
    const db = openLogDatabase(dataDir, { readonly: true });
    cleanups.push(() => db.close());
    const groupsOf = db.prepare<[number], string>("SELECT first_rev || ':' || positions FROM chunk_groups WHERE stream_id = ? ORDER BY first_rev").pluck();
    const tails = db.prepare<[], number>('SELECT sum(merged_rev - indexed_rev) FROM heads').pluck();
    // 18 streams, created in this order: ids 1-18.
    const streams = Array.from({ length: 18 }, (_, i) => `s${i + 1}`);
    for (let t = 0; t < 5; t++) {
      await log.appendMany({
        streams,
        expected: new Float64Array(18).fill(t === 0 ? EXPECT_NO_STREAM : t - 1),
        counts: new Int32Array(18).fill(1),
        events: new Float64Array(18 * 3).fill(t),
      });
      await merged(db);
      // Merging commit t writes row 18t + id to each stream. Groups are two rows, but a stream's first is
      // longer by (id / 16) mod 2: ids 1-15 fill theirs in merges 1 and 3, ids 16-18 in 2 and 4.
      expect(tails.get()).toBe([18, 6, 15, 3, 15][t]);
    }
    expect(groupsOf.all(1)).toEqual(['0:[1,19]', '2:[37,55]']);
    expect(groupsOf.all(16)).toEqual(['0:[16,34,52]', '3:[70,88]']);
    expect((await log.readStream('s16', 0n, 10))?.events).toEqual(Float64Array.of(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4));
  });

  it('groups a stream of large rows by events: a few rows per group, so a read within one passes over few', async () => {
    const dataDir = tempDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 4, mergeCommits: 1 });
    cleanups.push(() => log.close());
    const db = openLogDatabase(dataDir, { readonly: true });
    cleanups.push(() => db.close());
    const groups = db.prepare<[], string>("SELECT first_rev || ':' || positions FROM chunk_groups ORDER BY first_rev").pluck();
    // Four rows make a group, or 4 × 16 events, whichever comes first.
    let expected: bigint | 'no_stream' = 'no_stream';
    // The last append is three rows (1,024 + 1,024 + 52 events): the first closes the group of
    // the 1-event row before it, the second is a group, the third stays in the tail.
    for (const size of [40, 40, 100, 1, 2100]) {
      expected = (await log.append('big', new Float64Array(size * 3).fill(size), expected)).nextExpectedRevision;
      await merged(db);
    }
    expect(groups.all()).toEqual(['0:[1,2]', '80:[3]', '180:[4,5]', '1205:[6]']);
    expect(db.prepare('SELECT merged_rev - indexed_rev FROM heads').pluck().get()).toBe(52);
    const stored = await log.readStream('big', 1200n, 10);
    expect(Array.from(stored!.events)).toEqual(Array.from({ length: 30 }, () => 2100));
  });

  it('indexes a stream another writer also wrote to by walking its chain, every row once', async () => {
    const dataDir = tempDir();
    const one = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 3, mergeCommits: 1 });
    const two = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 3, mergeCommits: 1 });
    cleanups.push(() => one.close(), () => two.close());
    const db = openLogDatabase(dataDir, { readonly: true });
    cleanups.push(() => db.close());
    // The writers take turns on one stream, each merging its own commits into rows: neither
    // remembers every row of the tail it indexes.
    for (let t = 0; t < 10; t++) {
      await (t % 3 === 0 ? two : one).append('a', Float64Array.of(t, t, t), t === 0 ? 'no_stream' : BigInt(t - 1));
      await merged(db);
    }
    const rows = db.prepare<[], number>('SELECT j.value FROM chunk_groups g, json_each(g.positions) j ORDER BY g.first_rev, j.key').pluck().all();
    const indexed = db.prepare<[], number>('SELECT indexed_rev FROM heads').pluck().get()!;
    expect(rows).toEqual(Array.from({ length: indexed }, (_, i) => i + 1));
    expect(indexed).toBeGreaterThanOrEqual(6);
    const events = Array.from({ length: 10 }, (_, t) => [t, t, t]).flat();
    expect(Array.from((await one.readStream('a', 0n, 20))!.events)).toEqual(events);
    expect(Array.from((await two.readStream('a', 3n, 4))!.events)).toEqual(events.slice(9, 21));
  });

  it('tells of a merge that fails, goes on committing, and merges once it can', async () => {
    const dataDir = tempDir();
    const failures: Error[] = [];
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0, mergeCommits: 2, mergeWhenIdle: false, onBackgroundError: (e) => failures.push(e) });
    cleanups.push(() => log.close());
    const db = new BetterSqlite3(join(dataDir, LOG_FILE_NAME));
    cleanups.push(() => db.close());
    const event = (t: number) => Float64Array.of(t, t, t);
    await log.append('a', event(0), 'no_stream');
    await log.append('a', event(1), 0n); // the second commit: both merged
    await merged(db);
    await log.append('a', event(2), 1n);
    // Pretend the third commit is merged: the next merge finds the stream's rows short of it.
    const mergedThrough = (position: string) => db.prepare("UPDATE meta SET value = ? WHERE key = 'merged_through'").run(position);
    mergedThrough('3');
    await log.append('a', event(3), 2n);
    await eventually(async () => failures.length > 0, 10_000, 'the failed merge to be told');
    expect(failures[0]!.message).toMatch(/rows end at revision 2, the commits to merge start at 3/);
    expect((await log.append('a', event(4), 3n)).nextExpectedRevision).toBe(4n);
    await log.close(); // its last merge fails the same way (told once: the first was just now)
    // A new writer thread finds the same at its start: told, and its appends go on.
    const startFailures: Error[] = [];
    const again = new SqliteEventLog({ dataDir, pollIntervalMs: 0, mergeWhenIdle: false, onBackgroundError: (e) => startFailures.push(e) });
    expect((await again.append('a', event(5), 4n)).nextExpectedRevision).toBe(5n);
    await eventually(async () => startFailures.length > 0, 10_000, 'the failed merge at start to be told');
    expect(startFailures[0]!.message).toMatch(/rows end at revision 2/);
    mergedThrough('2');
    await again.close();
    const reopened = new SqliteEventLog({ dataDir, pollIntervalMs: 0, readonly: true });
    cleanups.push(() => reopened.close());
    expect(Array.from((await reopened.readStream('a', 0n, 10))!.events)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]);
    expect(db.prepare('SELECT merged_rev FROM heads').pluck().get()).toBe(6);
    expect(failures).toHaveLength(1);
  });

  it('fails the batch with the reason when the thread cannot open the log, and tries a new thread for the next', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    const writer = new WriterThread({ dataDir: join(file, 'data'), indexEveryRows: undefined });
    cleanups.push(() => writer.close());
    await expect(writer.commit(batchOf(['a'], 1))).rejects.toThrow(/ENOTDIR|not a directory/);
    await expect(writer.commit(batchOf(['a'], 1))).rejects.toThrow(/ENOTDIR|not a directory/);
  });

  it('packs single appends and appendMany batches made in one turn into one group commit, answering each', async () => {
    const log = new SqliteEventLog({ dataDir: tempDir(), pollIntervalMs: 0 });
    cleanups.push(() => log.close());
    const commits: number[] = [];
    log.observeCommits((appends) => commits.push(appends));
    const single = log.append('a', new Float64Array([1, 1, 1]), 'no_stream');
    const many = log.appendMany({
      streams: ['b', 'a', 'c'],
      expected: Float64Array.of(EXPECT_NO_STREAM, EXPECT_NO_STREAM, EXPECT_NO_STREAM),
      counts: Int32Array.of(2, 1, 1),
      events: Float64Array.of(2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5),
    });
    expect((await single).nextExpectedRevision).toBe(0n);
    // 'a' was created by the single append committed just before it in the same transaction.
    expect([...(await many).firstRevisions]).toEqual([0, APPEND_CONFLICT, 0]);
    expect(commits).toEqual([4]);
    expect((await log.head('b'))?.revision).toBe(1n);
  });

  it('answers appendMany on a closed log with every append failed, the reason kept', async () => {
    const log = new SqliteEventLog({ dataDir: tempDir(), pollIntervalMs: 0 });
    await log.close();
    const result = await log.appendMany({ streams: ['a', 'b'], expected: Float64Array.of(EXPECT_NO_STREAM, 0), counts: Int32Array.of(1, 1), events: new Float64Array(6) });
    expect([...result.firstRevisions]).toEqual([APPEND_FAILED, APPEND_FAILED]);
    expect(result.failures.size).toBe(2);
    expect(hasCode(result.failures.get(1), 'STORE_UNAVAILABLE')).toBe(true);
    expect(result.failures.get(0)?.message).toMatch(/closed/);
  });

  it('answers every append made before close() and then ends the thread', async () => {
    const dataDir = tempDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    const appends = Array.from({ length: 50 }, (_, i) => log.append(`r${i}`, new Float64Array([i, i, i]), 'no_stream'));
    await log.close();
    expect((await Promise.all(appends)).map((r) => r.nextExpectedRevision)).toEqual(new Array(50).fill(0n));
    const reopened = new SqliteEventLog({ dataDir, pollIntervalMs: 0, readonly: true });
    cleanups.push(() => reopened.close());
    expect(await reopened.listStreams()).toHaveLength(50);
  });

  it('does not keep its process alive once its appends are answered, even if the log is never closed', async () => {
    const dataDir = tempDir();
    const script = `
      import { SqliteEventLog } from './src/store/sqlite/sqlite-event-log.ts';
      const log = new SqliteEventLog({ dataDir: ${JSON.stringify(dataDir)}, pollIntervalMs: 0 });
      const result = await log.append('robot', new Float64Array([1, 2, 3]), 'no_stream');
      console.log('appended', result.nextExpectedRevision);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    expect(output).toContain('appended 0');
    expect(code).toBe(0);
  });
});
