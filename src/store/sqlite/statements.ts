// Prepared read statements of the embedded log, in one place so the adapter reads as logic, not
// SQL. The write statements belong to the writer thread (log-writer.ts, stream-merger.ts); reads of
// the commits not yet in the streams' rows go through unmerged-commits.ts.

import type Database from 'better-sqlite3';

export interface ChunkRow {
  position: number;
  stream_id: number;
  first_rev: number;
  count: number;
  events: Buffer;
}

/** Part of a chunk row: `count` events from revision `first_rev`. */
export interface WindowRow {
  position: number;
  first_rev: number;
  count: number;
  events: Buffer;
}

export interface HeadRow {
  last_position: number | null;
  indexed_rev: number;
  merged_rev: number;
}

export interface CommitRow {
  position: number;
  directory: string;
  /** Null once the commit is merged into the streams' rows. */
  events: Buffer | null;
}

export interface TailRow {
  position: number;
  first_rev: number;
  count: number;
  events: Buffer;
}

export function prepareStatements(db: Database.Database) {
  return {
    streamId: db.prepare<[string], { id: number }>('SELECT id FROM streams WHERE name = ?'),
    streamName: db.prepare<[number], { name: string }>('SELECT name FROM streams WHERE id = ?'),
    listStreams: db.prepare<[], { name: string }>('SELECT name FROM streams ORDER BY id'),
    head: db.prepare<[number], HeadRow>('SELECT last_position, indexed_rev, merged_rev FROM heads WHERE stream_id = ?'),
    // Only the last event's 24 bytes are read, however large the chunk.
    lastEvent: db.prepare<[number], Buffer>('SELECT substr(events, length(events) - 23, 24) FROM chunks WHERE position = ?').pluck(),
    // The stream's rows not yet in a group, newest first: its chain from the head back to the
    // first row at or above `indexed_rev`, or back to the row holding revision @from if that is later.
    tail: db.prepare<[{ stream: number; from: number }], TailRow>(
      `WITH RECURSIVE chain(position, first_rev, count, events, prev) AS (
         SELECT coalesce(c.log_position, c.position), c.first_rev, c.count, c.events, c.prev
           FROM heads h JOIN chunks c ON c.position = h.last_position
          WHERE h.stream_id = @stream AND c.first_rev >= h.indexed_rev AND c.first_rev + c.count > @from
         UNION ALL
         SELECT coalesce(c.log_position, c.position), c.first_rev, c.count, c.events, c.prev
           FROM chain JOIN chunks c ON c.position = chain.prev
          WHERE c.first_rev >= (SELECT indexed_rev FROM heads WHERE stream_id = @stream)
            AND c.first_rev + c.count > @from)
       SELECT position, first_rev, count, events FROM chain`,
    ),
    // The events of revisions [@lo, @hi) held by grouped rows, one row per chunk row, each cut to
    // the window: a small page out of a large row copies just what it returns. The groups read are
    // the one holding @lo and those starting before @hi (groups are contiguous from revision 0, so
    // the first exists whenever @lo is below indexed_rev). Oldest first: groups in order, and each
    // group's rows in the order json_each walks its array — not sorted again (a sorter costs more
    // than a small read); the caller checks that each row starts where the last one ended.
    windowRows: db.prepare<[{ stream: number; lo: number; hi: number }], WindowRow>(
      `SELECT coalesce(c.log_position, c.position) AS position, max(c.first_rev, @lo) AS first_rev,
              min(c.first_rev + c.count, @hi) - max(c.first_rev, @lo) AS count,
              substr(c.events, (max(c.first_rev, @lo) - c.first_rev) * 24 + 1,
                     (min(c.first_rev + c.count, @hi) - max(c.first_rev, @lo)) * 24) AS events
         FROM chunk_groups g, json_each(g.positions) j JOIN chunks c ON c.position = j.value
        WHERE g.stream_id = @stream AND g.first_rev < @hi
          AND g.first_rev >= (SELECT max(first_rev) FROM chunk_groups WHERE stream_id = @stream AND first_rev <= @lo)
          AND c.first_rev < @hi AND c.first_rev + c.count > @lo
        ORDER BY g.first_rev`,
    ),
    // The events of the groups starting in a revision window, concatenated by SQLite into one blob:
    // one row per window instead of one per chunk row (live fleets commit one event per robot per
    // row, and materialising a row costs more than the event it carries). Needs SQLite ≥ 3.44 for
    // the ordered aggregate; better-sqlite3 12 bundles a newer one.
    windowBlob: db.prepare<[number, number, number], Buffer | null>(
      `SELECT CAST(group_concat(c.events, x'' ORDER BY c.first_rev) AS BLOB)
         FROM chunk_groups g, json_each(g.positions) j JOIN chunks c ON c.position = j.value
        WHERE g.stream_id = ? AND g.first_rev >= ? AND g.first_rev < ?`,
    ).pluck(),
    // Rows from before format 4 were the log: those after a position, up to where the commits start.
    legacyAfter: db.prepare<[number, number], ChunkRow>(
      'SELECT position, stream_id, first_rev, count, events FROM chunks WHERE position > ? AND position <= ? ORDER BY position',
    ),
    legacyEnd: db.prepare<[], number>("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'legacy_end'").pluck(),
    // The commit holding the append after @after, and every later one.
    commitsFrom: db.prepare<[{ after: number }], CommitRow>(
      `SELECT position, directory, events FROM commits
        WHERE position >= coalesce((SELECT max(position) FROM commits WHERE position <= @after), 0) ORDER BY position`,
    ),
    logId: db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'log_id'"),
    lastPosition: db.prepare<[], number>(
      `SELECT coalesce((SELECT position + appends - 1 FROM commits ORDER BY position DESC LIMIT 1),
                       (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'legacy_end'))`,
    ).pluck(),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
