// Opens the embedded log's SQLite database and brings its schema to the current format.
//
// One row per stream per commit: (position, stream_id, first_rev, count, events). `events` is the
// little-endian bytes of a Float64Array of (x, y, timestamp) triples. Packing a commit's events for
// one robot into one row is what makes durable group commits cheap: 1,000 robots × 20 events is
// 1,000 rows, not 20,000. Rows are never updated or deleted; triggers enforce it.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const LOG_FILE_NAME = 'events.sqlite';
const FORMAT_VERSION = 1;

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
  UNIQUE (stream_id, first_rev)
) STRICT;
-- Every row continues its stream exactly where the previous one ended: no gap, no overlap, whoever
-- writes. The expected-revision check of an append is this trigger (and the UNIQUE key) refusing it.
CREATE TRIGGER IF NOT EXISTS chunks_contiguous BEFORE INSERT ON chunks
  WHEN NEW.first_rev <> coalesce(
    (SELECT first_rev + count FROM chunks WHERE stream_id = NEW.stream_id ORDER BY first_rev DESC LIMIT 1), 0)
  BEGIN SELECT RAISE(ABORT, 'revision conflict'); END;
CREATE TRIGGER IF NOT EXISTS chunks_append_only_update BEFORE UPDATE ON chunks
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS chunks_append_only_delete BEFORE DELETE ON chunks
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS streams_append_only_update BEFORE UPDATE ON streams
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS streams_append_only_delete BEFORE DELETE ON streams
  BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
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
      db.exec(DDL);
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get('format') as { value: string } | undefined;
      if (row === undefined) {
        db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('format', String(FORMAT_VERSION));
      } else if (Number(row.value) !== FORMAT_VERSION) {
        throw new Error(`${file} has log format ${row.value}; this version reads format ${FORMAT_VERSION}`);
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
