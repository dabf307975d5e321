// Prepared statements of the embedded log, in one place so the adapter reads as logic, not SQL.

import type Database from 'better-sqlite3';

export interface ChunkRow {
  position: number;
  stream_id: number;
  first_rev: number;
  count: number;
  events: Buffer;
}

export function prepareStatements(db: Database.Database) {
  return {
    streamId: db.prepare<[string], { id: number }>('SELECT id FROM streams WHERE name = ?'),
    streamName: db.prepare<[number], { name: string }>('SELECT name FROM streams WHERE id = ?'),
    insertStream: db.prepare<[string]>('INSERT INTO streams (name) VALUES (?)'),
    listStreams: db.prepare<[], { name: string }>('SELECT name FROM streams ORDER BY id'),
    headRevision: db.prepare<[number], { rev: number }>(
      'SELECT first_rev + count - 1 AS rev FROM chunks WHERE stream_id = ? ORDER BY first_rev DESC LIMIT 1',
    ),
    // Only the last event's 24 bytes are read, however large the chunk.
    headEvent: db.prepare<[number], { rev: number; last: Buffer }>(
      `SELECT first_rev + count - 1 AS rev, substr(events, length(events) - 23, 24) AS last
         FROM chunks WHERE stream_id = ? ORDER BY first_rev DESC LIMIT 1`,
    ),
    insertChunk: db.prepare<[number, number, number, Buffer]>(
      'INSERT INTO chunks (stream_id, first_rev, count, events) VALUES (?, ?, ?, ?)',
    ),
    // The chunk holding revision @rev (or the last one before it), with only the bytes of up to
    // @take events from @rev on: a small page out of a large row copies just what it returns.
    chunkAt: db.prepare<[{ stream: number; rev: number; take: number }], ChunkRow>(
      `SELECT position, stream_id, first_rev, count,
              substr(events, max(0, @rev - first_rev) * 24 + 1, @take * 24) AS events
         FROM chunks WHERE stream_id = @stream AND first_rev <= @rev ORDER BY first_rev DESC LIMIT 1`,
    ),
    chunksAfter: db.prepare<[number, number, number], ChunkRow>(
      `SELECT position, stream_id, first_rev, count, events FROM chunks
        WHERE stream_id = ? AND first_rev > ? ORDER BY first_rev LIMIT ?`,
    ),
    // The events of the chunks starting in a revision window, concatenated by SQLite into one blob:
    // one row per window instead of one per chunk (live fleets commit one event per robot per
    // chunk, and materialising a row costs more than the event it carries). Needs SQLite ≥ 3.44
    // for the ordered aggregate; better-sqlite3 12 bundles a newer one.
    windowBlob: db.prepare<[number, number, number], Buffer | null>(
      `SELECT CAST(group_concat(events, x'' ORDER BY first_rev) AS BLOB) FROM chunks
        WHERE stream_id = ? AND first_rev >= ? AND first_rev < ?`,
    ).pluck(),
    allAfter: db.prepare<[number], ChunkRow>(
      'SELECT position, stream_id, first_rev, count, events FROM chunks WHERE position > ? ORDER BY position',
    ),
    logId: db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'log_id'"),
    lastPosition: db.prepare<[], { position: number | null }>('SELECT max(position) AS position FROM chunks'),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
