// Opens the embedded log's SQLite database and brings its schema to the current format.
//
// `chunks` is the log: one row per stream per commit, (position, stream_id, first_rev, count,
// events, prev). `events` is the little-endian bytes of a Float64Array of (x, y, timestamp)
// triples; `prev` is the position of the stream's previous row. Packing a commit's events for one
// robot into one row is what makes durable group commits cheap: 1,000 robots × 20 events is 1,000
// rows, not 20,000. Rows are never updated or deleted; triggers enforce it.
//
// Rows are keyed by position only, so a commit appends to the end of one B-tree. The per-stream
// lookup (`chunk_groups`, keyed by stream and revision) has one entry per run of a stream's
// consecutive rows — its first revision and its rows' positions as a JSON array — written once
// the run is `indexEveryRows` long (log-writer.ts), not per row: a B-tree keyed by stream takes a
// page write per robot per commit, and with a thousand robots in every commit those page writes
// dominated it (`node dist/bench/log-layouts.js` compares the layouts; figures in BENCHMARKS.md);
// one entry per row still cost the writer a B-tree insert per row. A read joins an entry's
// positions to `chunks` (json_each): a rebuild scan runs at the rate one entry per row gave
// (BENCHMARKS.md, "The writer's index upkeep, and its triggers"). Rows not yet in a group are
// the suffix of their stream's chain, reached from `heads.last_position` through `prev`.
//
// `heads` holds, per stream, the next revision, the last row and how far the groups reach. It is
// derived from `chunks` (and rebuilt from it by the format-1 migration); the trigger that checks
// every insert also moves it on, inside the inserting transaction.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const LOG_FILE_NAME = 'events.sqlite';
const FORMAT_VERSION = 3;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS streams (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
) STRICT;
CREATE TABLE IF NOT EXISTS chunks (
  position  INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL REFERENCES streams(id),
  first_rev INTEGER NOT NULL CHECK (first_rev >= 0),
  count     INTEGER NOT NULL CHECK (count > 0),
  events    BLOB    NOT NULL CHECK (length(events) = count * 24),
  prev      INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS heads (
  stream_id     INTEGER PRIMARY KEY REFERENCES streams(id),
  next_rev      INTEGER NOT NULL,
  last_position INTEGER,
  -- Rows of the stream with first_rev below this are in chunk_groups; the others are its chain's tail.
  indexed_rev   INTEGER NOT NULL
) STRICT;
-- A stream's groups cover its revisions from 0 to heads.indexed_rev, each starting where the one
-- before it ends.
CREATE TABLE IF NOT EXISTS chunk_groups (
  stream_id INTEGER NOT NULL,
  first_rev INTEGER NOT NULL,
  -- The positions of the group's rows, oldest first, as a JSON array.
  positions TEXT    NOT NULL CHECK (json_array_length(positions) > 0),
  PRIMARY KEY (stream_id, first_rev)
) STRICT, WITHOUT ROWID;
-- Every row continues its stream exactly where the previous one ended, and links to it: no gap, no
-- overlap, whoever writes. The row moves its stream's head on only from where the row says the head
-- is, in one step that is also the check: the expected-revision check of an append is this trigger
-- refusing it. Rows carry their position (the writer's next after the last), so that it is known
-- here, before the insert.
CREATE TRIGGER IF NOT EXISTS chunks_extend_head BEFORE INSERT ON chunks BEGIN
  SELECT RAISE(ABORT, 'a row needs its position') WHERE NEW.position < 1;
  UPDATE heads SET next_rev = NEW.first_rev + NEW.count, last_position = NEW.position
   WHERE stream_id = NEW.stream_id AND next_rev = NEW.first_rev AND last_position IS NEW.prev;
  SELECT RAISE(ABORT, 'revision conflict') WHERE changes() = 0;
END;
CREATE TRIGGER IF NOT EXISTS streams_head AFTER INSERT ON streams
  BEGIN INSERT INTO heads (stream_id, next_rev, last_position, indexed_rev) VALUES (NEW.id, 0, NULL, 0); END;
CREATE TRIGGER IF NOT EXISTS chunks_append_only_update BEFORE UPDATE ON chunks
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS chunks_append_only_delete BEFORE DELETE ON chunks
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS streams_append_only_update BEFORE UPDATE ON streams
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS streams_append_only_delete BEFORE DELETE ON streams
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
`;

// Format 1 kept chunks keyed by (stream_id, first_rev) and had no prev/heads/index. The rows move
// over unchanged, linked in revision order, every one of them indexed (a group of one row).
const MIGRATE_FROM_1 = `
DROP TRIGGER chunks_contiguous;
DROP TRIGGER chunks_append_only_update;
DROP TRIGGER chunks_append_only_delete;
ALTER TABLE chunks RENAME TO chunks_v1;
${DDL}
DROP TRIGGER chunks_extend_head;
INSERT INTO heads (stream_id, next_rev, last_position, indexed_rev)
  SELECT s.id, coalesce(max(c.first_rev + c.count), 0), max(c.position), coalesce(max(c.first_rev + c.count), 0)
    FROM streams s LEFT JOIN chunks_v1 c ON c.stream_id = s.id GROUP BY s.id;
INSERT INTO chunks (position, stream_id, first_rev, count, events, prev)
  SELECT position, stream_id, first_rev, count, events,
         lag(position) OVER (PARTITION BY stream_id ORDER BY first_rev)
    FROM chunks_v1 ORDER BY position;
INSERT INTO chunk_groups (stream_id, first_rev, positions)
  SELECT stream_id, first_rev, json_array(position) FROM chunks ORDER BY stream_id, first_rev;
DROP TABLE chunks_v1;
${DDL}
`;

// Format 2 indexed rows one entry each (chunk_index): every entry becomes a group of one row. Its
// contiguity check and head advance were two triggers, now one.
const MIGRATE_FROM_2 = `
DROP TRIGGER chunks_contiguous;
DROP TRIGGER chunks_advance_head;
${DDL}
INSERT INTO chunk_groups (stream_id, first_rev, positions)
  SELECT stream_id, first_rev, json_array(position) FROM chunk_index ORDER BY stream_id, first_rev;
DROP TABLE chunk_index;
`;

export interface OpenOptions {
  readonly readonly?: boolean;
  /** How long a writer waits for another process's write lock before giving up. */
  readonly busyTimeoutMs?: number;
}

export function openLogDatabase(dataDir: string, options: OpenOptions = {}): Database.Database {
  if (endianness() !== 'LE') {
    throw new Error('the embedded log stores little-endian float64 blobs; this CPU is big-endian');
  }
  const file = join(dataDir, LOG_FILE_NAME);
  if (options.readonly) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    return db;
  }
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    // FULL: every commit is fsynced before it returns, so an acknowledged event survives kill -9
    // and power loss alike.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.transaction(() => {
      const format = storedFormat(db);
      if (format === 1 || format === 2) {
        db.exec(format === 1 ? MIGRATE_FROM_1 : MIGRATE_FROM_2);
        db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(String(FORMAT_VERSION));
      } else if (format === undefined) {
        db.exec(DDL);
        db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('format', String(FORMAT_VERSION));
      } else if (format !== FORMAT_VERSION) {
        throw new Error(`${file} has log format ${format}; this version reads formats 1 to ${FORMAT_VERSION}`);
      } else {
        db.exec(DDL);
      }
      // A random id minted with the log: checkpoints name the log they were taken from.
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run('log_id', randomUUID());
    }).immediate();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function storedFormat(db: Database.Database): number | undefined {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  if (!hasMeta) return undefined;
  const row = db.prepare("SELECT value FROM meta WHERE key = 'format'").get() as { value: string } | undefined;
  return row === undefined ? undefined : Number(row.value);
}
