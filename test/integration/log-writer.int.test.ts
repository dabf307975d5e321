// The embedded log's writer and merger on their own (no thread): how a batch becomes commit rows,
// and that what the merger remembers never outlives a merge that was rolled back. Real SQLite
// files; two connections where two processes would be.

import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { EXPECT_ANY, EXPECT_NO_STREAM } from '../../src/store/event-log.js';
import { LogWriter, type WriterBatch } from '../../src/store/sqlite/log-writer.js';
import { openLogDatabase } from '../../src/store/sqlite/schema.js';
import { StreamMerger } from '../../src/store/sqlite/stream-merger.js';
import { makeTempDir } from '../support/temp-dir.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A log's data dir, and a way to open connections to it (closed after the test). */
function tempLog(): () => Database.Database {
  const dir = makeTempDir();
  cleanups.push(dir.remove);
  return () => {
    const db = openLogDatabase(dir.path);
    db.pragma('foreign_keys = OFF');
    cleanups.push(() => db.close());
    return db;
  };
}

/** Appends of `count` events each, by stream id or (no id) by name; event i of the batch is (i, i, i). */
function batch(appends: Array<{ id?: number; name?: string; expected: number; count: number }>): WriterBatch {
  const total = appends.reduce((sum, a) => sum + a.count, 0);
  return {
    ids: Int32Array.from(appends, (a) => a.id ?? 0),
    names: appends.filter((a) => a.id === undefined).map((a) => a.name!),
    expected: Float64Array.from(appends, (a) => a.expected),
    counts: Int32Array.from(appends, (a) => a.count),
    events: Float64Array.from({ length: total * 3 }, (_, i) => Math.floor(i / 3)),
  };
}

function commitsIn(db: Database.Database): string[] {
  return db.prepare<[], string>("SELECT position || ' ' || appends || ' ' || directory FROM commits ORDER BY position").pluck().all();
}

describe('LogWriter', () => {
  it('writes a batch as one commit row, each append checked against the head the appends before it left', () => {
    const open = tempLog();
    const db = open();
    const writer = new LogWriter(db);
    writer.commit(batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 2 }, { name: 'b', expected: EXPECT_NO_STREAM, count: 1 }]));
    const outcome = writer.commit(batch([
      { id: 1, expected: 1, count: 1 },
      { id: 2, expected: 0, count: 2 },
      { id: 1, expected: 2, count: 1 }, // follows the first append of this batch
      { id: 1, expected: EXPECT_ANY, count: 1 }, // wherever the appends before it left the stream
      { id: 2, expected: 7, count: 1 }, // stale
    ]));
    expect(Array.from(outcome.firstRevisions)).toEqual([2, 1, 3, 4, -1]);
    expect(Array.from(outcome.positions)).toEqual([3, 4, 5, 6, -1]);
    expect(Array.from(outcome.conflictNext)).toEqual([0, 0, 0, 0, 3]);
    expect(commitsIn(db)).toEqual(['1 2 [[1,0,2],[2,0,1]]', '3 4 [[1,2,1],[2,1,2],[1,3,1],[1,4,1]]']);
    // The row holds exactly its appends' events: the batch's events 0-4, not the stale append's 5.
    const blob = db.prepare<[], Buffer>('SELECT events FROM commits WHERE position = 3').pluck().get()!;
    const stored = new Float64Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
    expect(Array.from(stored).filter((_, i) => i % 3 === 0)).toEqual([0, 1, 2, 3, 4]);
    // Another writer finds the heads from the commits: a at 5, b at 3.
    const other = new LogWriter(open());
    const next = other.commit(batch([{ id: 1, expected: 4, count: 1 }, { id: 2, expected: 2, count: 1 }, { id: 2, expected: 1, count: 1 }]));
    expect(Array.from(next.firstRevisions)).toEqual([5, 3, -1]);
    expect(Array.from(next.conflictNext)).toEqual([0, 0, 4]);
  });

  it('finds the heads from the rows and the commits after them, however far the merge got', () => {
    const open = tempLog();
    const db = open();
    const writer = new LogWriter(db);
    const merger = new StreamMerger(db, { mergeCommits: 1, indexEveryRows: 2 });
    writer.commit(batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 2 }, { name: 'b', expected: EXPECT_NO_STREAM, count: 1 }]));
    writer.commit(batch([{ id: 1, expected: 1, count: 3 }]));
    merger.mergeAll();
    writer.commit(batch([{ id: 2, expected: 0, count: 2 }]));
    // Rows hold a to 5 and b to 1; commit 4, not merged, holds b's 1-2.
    const appendOne = (to: LogWriter, a: number, b: number) =>
      Array.from(to.commit(batch([{ id: 1, expected: a, count: 1 }, { id: 2, expected: b, count: 1 }])).firstRevisions);
    expect(appendOne(new LogWriter(open()), 4, 2)).toEqual([5, 3]);
    // Everything merged, then the merge's marker put back to commit 3, as if a merge had put commits
    // 4 and 6 in rows and not yet moved it: their appends count once, not on top of the rows.
    merger.mergeAll();
    db.prepare("UPDATE meta SET value = '3' WHERE key = 'merged_through'").run();
    expect(appendOne(new LogWriter(open()), 5, 3)).toEqual([6, 4]);
  });

  it('takes its heads back from the store after a commit that was rolled back', () => {
    const db = tempLog()();
    const writer = new LogWriter(db);
    writer.commit(batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 2 }]));
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON commits BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => writer.commit(batch([{ id: 1, expected: 1, count: 3 }]))).toThrow(/disk full/);
    db.exec('DROP TRIGGER refuse');
    // a is still at revision 2: the same append commits, and one expecting the rolled-back revision fails.
    const outcome = writer.commit(batch([{ id: 1, expected: 1, count: 3 }, { id: 1, expected: 1, count: 1 }]));
    expect(Array.from(outcome.firstRevisions)).toEqual([2, -1]);
    expect(Array.from(outcome.conflictNext)).toEqual([0, 5]);
  });

  it('takes out only the appends another writer got ahead of, and commits the rest', () => {
    const open = tempLog();
    const one = new LogWriter(open());
    const two = new LogWriter(open());
    one.commit(batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 1 }, { name: 'b', expected: EXPECT_NO_STREAM, count: 1 }]));
    two.commit(batch([{ id: 2, expected: 0, count: 3 }]));
    const outcome = one.commit(batch([{ id: 1, expected: 0, count: 1 }, { id: 2, expected: 0, count: 1 }, { name: 'a', expected: EXPECT_NO_STREAM, count: 1 }]));
    expect(Array.from(outcome.firstRevisions)).toEqual([1, -1, -1]);
    expect(Array.from(outcome.conflictNext)).toEqual([0, 4, 2]);
    expect(Array.from(outcome.positions)).toEqual([4, -1, -1]);
  });

  it('commits nothing of a batch whose events do not add up, and throws', () => {
    const db = tempLog()();
    const writer = new LogWriter(db);
    const malformed = { ...batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 2 }]), events: new Float64Array(3) };
    expect(() => writer.commit(malformed)).toThrow(/a batch of 2 events carries 1/);
    expect(commitsIn(db)).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM streams').pluck().get()).toBe(0);
  });
});

describe('StreamMerger', () => {
  it('forgets the rows of a rolled-back merge, so no index group names another stream\'s row', () => {
    const open = tempLog();
    const db = open();
    const writer = new LogWriter(db);
    const one = new StreamMerger(db, { mergeCommits: 1, indexEveryRows: 3 });
    const two = new StreamMerger(open(), { mergeCommits: 1, indexEveryRows: 3 });
    const mergedThrough = (position: number) => db.prepare("UPDATE meta SET value = ? WHERE key = 'merged_through'").run(String(position));
    // Commits at positions 1 (a and b), 3 (b), 4 (a and b), 6 (a); stream rows numbered apart.
    writer.commit(batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 1 }, { name: 'b', expected: EXPECT_NO_STREAM, count: 1 }]));
    one.mergeAll(); // a's row 1, b's row 2
    writer.commit(batch([{ id: 2, expected: 0, count: 1 }]));
    writer.commit(batch([{ id: 1, expected: 0, count: 1 }, { id: 2, expected: 1, count: 1 }]));
    // Skipping commit 3, the merge of commit 4 writes a's revision 1 as row 3, then finds b's rows
    // short of it: the merge is rolled back, row 3 with it.
    mergedThrough(3);
    expect(() => one.mergeAll()).toThrow(/rows end at revision 1/);
    mergedThrough(1);
    // Another merger fills row 3 with b's revision 1, then writes a's revision 1 as row 4.
    two.mergeAll();
    writer.commit(batch([{ id: 1, expected: 1, count: 1 }]));
    // a's revision 2 is its third row, which makes a group: of its rows 1, 4 and 6 — not of the
    // rolled-back row 3, b's now.
    one.mergeAll();
    one.indexAllTails();
    const groups = db.prepare<[], string>("SELECT first_rev || ':' || positions FROM chunk_groups WHERE stream_id = 1 ORDER BY first_rev").pluck().all();
    expect(groups.flatMap((g) => JSON.parse(g.split(':')[1]!) as number[])).toEqual([1, 4, 6]);
  });
});
