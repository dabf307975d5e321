// The embedded log's writer on its own (no thread): what it remembers between commits must never
// outlive a commit that was rolled back. Real SQLite files, two writers on one log.

import { afterEach, describe, expect, it } from 'vitest';
import { EXPECT_NO_STREAM } from '../../src/store/event-log.js';
import { LogWriter, type WriterBatch } from '../../src/store/sqlite/log-writer.js';
import { openLogDatabase } from '../../src/store/sqlite/schema.js';
import { makeTempDir } from '../support/temp-dir.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** One append of `count` events per stream, by id or (no id) by name. */
function batch(appends: Array<{ id?: number; name?: string; expected: number; count: number }>): WriterBatch {
  const total = appends.reduce((sum, a) => sum + a.count, 0);
  return {
    ids: Int32Array.from(appends, (a) => a.id ?? 0),
    names: appends.filter((a) => a.id === undefined).map((a) => a.name!),
    expected: Float64Array.from(appends, (a) => a.expected),
    counts: Int32Array.from(appends, (a) => a.count),
    events: new Float64Array(total * 3).fill(1),
  };
}

describe('LogWriter', () => {
  it('forgets the rows of a rolled-back commit, so no index group names another stream\'s row', () => {
    const dir = makeTempDir();
    cleanups.push(dir.remove);
    const open = () => {
      const db = openLogDatabase(dir.path);
      db.pragma('foreign_keys = OFF');
      cleanups.push(() => db.close());
      return db;
    };
    const db = open();
    const one = new LogWriter(db, 3);
    const two = new LogWriter(open(), 3);
    // Stream a (id 1) gets row 1 from the first writer.
    expect(one.commit(batch([{ name: 'a', expected: EXPECT_NO_STREAM, count: 1 }])).rowPositions).toEqual(Float64Array.of(1));
    // A commit of a's next row and a malformed append (no events for its count) is rolled back
    // whole: a's row at position 2 is gone.
    const malformed = { ...batch([{ id: 1, expected: 0, count: 1 }, { name: 'b', expected: EXPECT_NO_STREAM, count: 1 }]), events: new Float64Array(3) };
    expect(() => one.commit(malformed)).toThrow(/CHECK constraint/);
    // The second writer fills position 2 with another stream, and a's revision 1 at position 3.
    const created = two.commit(batch([{ name: 'c', expected: EXPECT_NO_STREAM, count: 1 }]));
    expect(created.rowPositions).toEqual(Float64Array.of(2));
    expect(two.commit(batch([{ id: 1, expected: 0, count: 1 }])).rowPositions).toEqual(Float64Array.of(3));
    // The first writer's next row of a is its third: a group is due (rows 1, 3, 4), and must not
    // be made of what it remembered from the rolled-back commit (1, 2, 4).
    expect(one.commit(batch([{ id: 1, expected: 1, count: 1 }])).rowPositions).toEqual(Float64Array.of(4));
    one.indexAllTails();
    const groups = db.prepare<[], string>("SELECT first_rev || ':' || positions FROM chunk_groups WHERE stream_id = 1 ORDER BY first_rev").pluck().all();
    expect(groups.flatMap((g) => JSON.parse(g.split(':')[1]!) as number[])).toEqual([1, 3, 4]);
  });
});
