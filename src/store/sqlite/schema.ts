// Opens the embedded log's SQLite database and brings its schema to the current format.
//
// `commits` is the log: one row per group commit, in commit order — the appends it holds (their
// streams, first revisions and counts, as a JSON directory) and all their events in one blob, the
// little-endian bytes of a Float64Array of (x, y, timestamp) triples. A commit at `position` puts
// its i-th append at log position `position + i`. One row per commit is what makes a durable group
// commit cheap whatever the size of the fleet: a commit of a thousand robots writes one row, not a
// thousand (BENCHMARKS.md, "The log as commits").
//
// `chunks` holds each stream's events in rows of its own, for reading a stream: (position,
// stream_id, first_rev, count, events, prev, log_position), `prev` linking a row to the stream's
// previous one. They are made from the commits later (stream-merger.ts), several commits' worth of
// a stream per row, so a live robot's history is stored in rows of tens of events rather than one
// row per commit; a row's `position` only names it (rows written before format 4 — at or below the
// meta key `legacy_end` — were the log itself, and their positions are log positions). Every commit
// at or below the meta key `merged_through` is in the stream rows, and its copy of the events is
// dropped (its directory stays: reading the log in order from there reads the streams' rows); a
// stream's newer events are read from the commits.
//
// Rows are keyed by position only, so writing them appends to the end of one B-tree. The per-stream
// lookup (`chunk_groups`, keyed by stream and revision) has one entry per run of a stream's
// consecutive rows — its first revision and its rows' positions as a JSON array — written once
// the run is `indexEveryRows` long (stream-merger.ts), not per row. A read joins an entry's
// positions to `chunks` (json_each). Rows not yet in a group are the suffix of their stream's
// chain, reached from `heads.last_position` through `prev`.
//
// `heads` holds, per stream, how far its rows reach (`merged_rev`), its last row and how far the
// groups reach. A stream's next revision is not stored: it is the end of its last append in the
// unmerged commits, or `merged_rev` if it has none there — writing it per append was most of a
// commit's cost (BENCHMARKS.md, "Heads from the commits"). The writer keeps every stream's next
// revision in memory and checks each append's expected revision against it, inside the commit's
// transaction; finding a commit it did not write there, it derives them all again (log-writer.ts),
// so two writers — two processes on one data dir — can never interleave. A trigger lets a row
// continue its stream's rows only where they end, whoever writes it. Commits and rows are never
// deleted, nor updated but for a merged commit's events being dropped; triggers enforce it.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const LOG_FILE_NAME = 'events.sqlite';
const FORMAT_VERSION = 5;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS streams (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
) STRICT;
CREATE TABLE IF NOT EXISTS commits (
  position  INTEGER PRIMARY KEY,
  appends   INTEGER NOT NULL CHECK (appends > 0),
  -- Per append, in order: [stream_id, first_rev, count]; its events follow the previous append's.
  directory TEXT    NOT NULL,
  -- NULL once the commit is merged: its events are then read from the streams' rows.
  events    BLOB
) STRICT;
CREATE TABLE IF NOT EXISTS chunks (
  position  INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL REFERENCES streams(id),
  first_rev INTEGER NOT NULL CHECK (first_rev >= 0),
  count     INTEGER NOT NULL CHECK (count > 0),
  events    BLOB    NOT NULL CHECK (length(events) = count * 24),
  prev      INTEGER,
  -- The log position of the row's last event; NULL in rows from before format 4 (their position is it).
  log_position INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS heads (
  stream_id     INTEGER PRIMARY KEY REFERENCES streams(id),
  last_position INTEGER,
  -- Rows of the stream with first_rev below this are in chunk_groups; the others are its chain's tail.
  indexed_rev   INTEGER NOT NULL,
  -- The stream's rows hold its revisions below this; the rest are only in commits.
  merged_rev    INTEGER NOT NULL DEFAULT 0
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
-- Every row continues its stream's rows exactly where the previous one ended and links to it: no
-- gap, no overlap, whoever writes. Rows carry their position (the writer's next after the last), so
-- that it is known here, before the insert.
CREATE TRIGGER IF NOT EXISTS chunks_extend_head BEFORE INSERT ON chunks BEGIN
  SELECT RAISE(ABORT, 'a row needs its position') WHERE NEW.position < 1;
  UPDATE heads SET merged_rev = NEW.first_rev + NEW.count, last_position = NEW.position
   WHERE stream_id = NEW.stream_id AND merged_rev = NEW.first_rev AND last_position IS NEW.prev;
  SELECT RAISE(ABORT, 'revision conflict') WHERE changes() = 0;
END;
CREATE TRIGGER IF NOT EXISTS streams_head AFTER INSERT ON streams
  BEGIN INSERT INTO heads (stream_id, last_position, indexed_rev, merged_rev) VALUES (NEW.id, NULL, 0, 0); END;
-- The one change a commit takes: its events dropped once they are in the streams' rows.
CREATE TRIGGER IF NOT EXISTS commits_append_only_update BEFORE UPDATE ON commits
  WHEN NOT (NEW.events IS NULL AND NEW.position = OLD.position AND NEW.appends = OLD.appends AND NEW.directory = OLD.directory
            AND OLD.position <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'merged_through'))
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS commits_append_only_delete BEFORE DELETE ON commits
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
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
INSERT INTO heads (stream_id, merged_rev, last_position, indexed_rev)
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

// Formats 2 to 4 stored each stream's next revision in `heads`; from format 5 it follows from the
// rows and the commits. Up to format 3 the rows hold every event, so it is how far they reach.
const NEXT_REV_FROM_ROWS = `
ALTER TABLE heads ADD COLUMN merged_rev INTEGER NOT NULL DEFAULT 0;
UPDATE heads SET merged_rev = next_rev;
ALTER TABLE heads DROP COLUMN next_rev;
ALTER TABLE chunks ADD COLUMN log_position INTEGER;
`;

// Format 2 indexed rows one entry each (chunk_index): every entry becomes a group of one row. Its
// contiguity check and head advance were two triggers, now one.
const MIGRATE_FROM_2 = `
DROP TRIGGER chunks_contiguous;
DROP TRIGGER chunks_advance_head;
DROP TRIGGER IF EXISTS streams_head;
${NEXT_REV_FROM_ROWS}
${DDL}
INSERT INTO chunk_groups (stream_id, first_rev, positions)
  SELECT stream_id, first_rev, json_array(position) FROM chunk_index ORDER BY stream_id, first_rev;
DROP TABLE chunk_index;
`;

// Format 3 had no commits: its rows were the log, each appended by the insert its trigger checked.
const MIGRATE_FROM_3 = `
DROP TRIGGER chunks_extend_head;
DROP TRIGGER streams_head;
${NEXT_REV_FROM_ROWS}
${DDL}
`;

// Every format before 4: the rows were the log, and their positions are the log's up to here.
const ROWS_WERE_THE_LOG = `
INSERT INTO meta (key, value) SELECT 'legacy_end', coalesce(max(position), 0) FROM chunks;
`;

// Format 4 is this one with `heads.next_rev`, which its commits and rows repeat.
const MIGRATE_FROM_4 = `
DROP TRIGGER chunks_extend_head;
DROP TRIGGER streams_head;
ALTER TABLE heads DROP COLUMN next_rev;
${DDL}
`;

const MIGRATIONS: Record<number, string> = {
  1: MIGRATE_FROM_1 + ROWS_WERE_THE_LOG,
  2: MIGRATE_FROM_2 + ROWS_WERE_THE_LOG,
  3: MIGRATE_FROM_3 + ROWS_WERE_THE_LOG,
  4: MIGRATE_FROM_4,
};

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
      const migration = format === undefined ? undefined : MIGRATIONS[format];
      if (migration !== undefined) {
        db.exec(migration);
        db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(String(FORMAT_VERSION));
      } else if (format === undefined) {
        db.exec(DDL);
        db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('format', String(FORMAT_VERSION));
        db.prepare("INSERT INTO meta (key, value) VALUES ('legacy_end', '0')").run();
      } else if (format !== FORMAT_VERSION) {
        throw new Error(`${file} has log format ${format}; this version reads formats 1 to ${FORMAT_VERSION}`);
      } else {
        db.exec(DDL);
      }
      // Every commit at or below this is in the stream rows (stream-merger.ts moves it on).
      db.prepare("INSERT INTO meta (key, value) SELECT 'merged_through', value FROM meta WHERE key = 'legacy_end' ON CONFLICT (key) DO NOTHING").run();
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
