// Prepared read statements of the embedded log, in one place so the adapter reads as logic, not
// SQL. The write statements belong to the writer thread (log-writer.ts).

import type Database from 'better-sqlite3';

export interface ChunkRow {
  position: number;
  stream_id: number;
  first_rev: number;
  count: number;
  events: Buffer;
}

export interface HeadRow {
  next_rev: number;
  last_position: number | null;
  indexed_rev: number;
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
    head: db.prepare<[number], HeadRow>('SELECT next_rev, last_position, indexed_rev FROM heads WHERE stream_id = ?'),
    // Only the last event's 24 bytes are read, however large the chunk.
    lastEvent: db.prepare<[number], Buffer>('SELECT substr(events, length(events) - 23, 24) FROM chunks WHERE position = ?').pluck(),
    // The stream's rows not yet in chunk_index, newest first: its chain from the head back to the
    // first row at or above `indexed_rev`, or back to the row holding revision @from if that is later.
    tail: db.prepare<[{ stream: number; from: number }], TailRow>(
      `WITH RECURSIVE chain(position, first_rev, count, events, prev) AS (
         SELECT c.position, c.first_rev, c.count, c.events, c.prev
           FROM heads h JOIN chunks c ON c.position = h.last_position
          WHERE h.stream_id = @stream AND c.first_rev >= h.indexed_rev AND c.first_rev + c.count > @from
         UNION ALL
         SELECT c.position, c.first_rev, c.count, c.events, c.prev
           FROM chain JOIN chunks c ON c.position = chain.prev
          WHERE c.first_rev >= (SELECT indexed_rev FROM heads WHERE stream_id = @stream)
            AND c.first_rev + c.count > @from)
       SELECT position, first_rev, count, events FROM chain`,
    ),
    // The indexed row holding revision @rev (or the last one before it), with only the bytes of up
    // to @take events from @rev on: a small page out of a large row copies just what it returns.
    chunkAt: db.prepare<[{ stream: number; rev: number; take: number }], ChunkRow>(
      `SELECT c.position, c.stream_id, c.first_rev, c.count,
              substr(c.events, max(0, @rev - c.first_rev) * 24 + 1, @take * 24) AS events
         FROM chunk_index i JOIN chunks c ON c.position = i.position
        WHERE i.stream_id = @stream AND i.first_rev <= @rev ORDER BY i.first_rev DESC LIMIT 1`,
    ),
    chunksAfter: db.prepare<[number, number, number], ChunkRow>(
      `SELECT c.position, c.stream_id, c.first_rev, c.count, c.events
         FROM chunk_index i JOIN chunks c ON c.position = i.position
        WHERE i.stream_id = ? AND i.first_rev > ? ORDER BY i.first_rev LIMIT ?`,
    ),
    // The events of the indexed rows starting in a revision window, concatenated by SQLite into one
    // blob: one row per window instead of one per chunk (live fleets commit one event per robot per
    // chunk, and materialising a row costs more than the event it carries). Needs SQLite ≥ 3.44
    // for the ordered aggregate; better-sqlite3 12 bundles a newer one.
    windowBlob: db.prepare<[number, number, number], Buffer | null>(
      `SELECT CAST(group_concat(c.events, x'' ORDER BY i.first_rev) AS BLOB)
         FROM chunk_index i JOIN chunks c ON c.position = i.position
        WHERE i.stream_id = ? AND i.first_rev >= ? AND i.first_rev < ?`,
    ).pluck(),
    allAfter: db.prepare<[number], ChunkRow>(
      'SELECT position, stream_id, first_rev, count, events FROM chunks WHERE position > ? ORDER BY position',
    ),
    logId: db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'log_id'"),
    lastPosition: db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM chunks'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
