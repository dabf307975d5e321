// Group-commit cost of the embedded log beside the layouts it replaced, measured in the same run:
// R robots, K appends of one event per commit (what a live fleet of one-event frames writes).
//
//   - `log`: SqliteEventLog itself (format 5: one row per commit, each append checked against heads
//     the writer keeps in memory, the streams' rows merged from the commits later on the writer
//     thread, between commits), through its public append();
//   - `rows per commit (format 3)`: the layout formats 4 and 5 replaced, a row per stream per commit keyed
//     by position, each moving its stream's head by trigger (the check of its expected revision),
//     inserted with plain prepared statements in one transaction — without the adapter, the
//     thread or the per-stream index, so the comparison flatters it;
//   - `per-stream key (format 1)`: the table keyed by (stream, revision) with its contiguity
//     trigger, plain statements likewise.
//
//   npx tsx bench/log-layouts.ts [--robots 1000] [--per-commit 1000] [--seconds 5]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { ExpectedRevision } from '../src/store/event-log.js';
import { SqliteEventLog } from '../src/store/sqlite/sqlite-event-log.js';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '1000' },
    'per-commit': { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
  },
});
const robots = Number(values.robots);
const perCommit = Number(values['per-commit']);
const seconds = Number(values.seconds);

const FORMAT_1 = `
  CREATE TABLE streams (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;
  CREATE TABLE chunks (
    position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL REFERENCES streams(id),
    first_rev INTEGER NOT NULL, count INTEGER NOT NULL, events BLOB NOT NULL,
    UNIQUE (stream_id, first_rev)) STRICT;
  CREATE TRIGGER chunks_contiguous BEFORE INSERT ON chunks
    WHEN NEW.first_rev <> coalesce((SELECT first_rev + count FROM chunks WHERE stream_id = NEW.stream_id
                                    ORDER BY first_rev DESC LIMIT 1), 0)
    BEGIN SELECT RAISE(ABORT, 'revision conflict'); END;`;

interface Result {
  readonly layout: string;
  readonly events_per_s: number;
  readonly commit_p50_ms: number;
  readonly commit_p99_ms: number;
}

/** Runs `commit` (one group commit of `perCommit` appends) for `seconds`. */
async function measure(layout: string, commit: (round: number) => Promise<void> | void): Promise<Result> {
  const times: number[] = [];
  const started = performance.now();
  for (let round = 0; performance.now() - started < seconds * 1000; round++) {
    const t = performance.now();
    await commit(round);
    times.push(performance.now() - t);
  }
  const elapsed = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(times.length * q))]! * 100) / 100;
  return { layout, events_per_s: Math.round((times.length * perCommit) / elapsed), commit_p50_ms: at(0.5), commit_p99_ms: at(0.99) };
}

/** Robot of the j-th append of a round: consecutive rounds visit the robots in turn. */
const robotOf = (round: number, j: number) => (round * perCommit + j) % robots;

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-log-layouts-'));
  try {
    return await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const current = await withDir(async (dataDir) => {
  const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
  const heads: ExpectedRevision[] = new Array(robots).fill('no_stream');
  try {
    return await measure('log (format 5)', async (round) => {
      const appends: Array<Promise<unknown>> = [];
      for (let j = 0; j < perCommit; j++) {
        const r = robotOf(round, j);
        const expected = heads[r]!;
        heads[r] = expected === 'no_stream' ? 0n : (expected as bigint) + 1n;
        appends.push(log.append(`robot-${r}`, Float64Array.of(j, -j, round), expected));
      }
      await Promise.all(appends);
    });
  } finally {
    await log.close();
  }
});

const replaced = await withDir(async (dir) => {
  const db = new Database(join(dir, 'events.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.exec(FORMAT_1);
  const addStream = db.prepare('INSERT INTO streams (id, name) VALUES (?, ?)');
  for (let r = 0; r < robots; r++) addStream.run(r + 1, `robot-${r}`);
  const insert = db.prepare('INSERT INTO chunks (stream_id, first_rev, count, events) VALUES (?, ?, 1, ?)');
  const next = new Array<number>(robots).fill(0);
  const commit = db
    .transaction((round: number) => {
      for (let j = 0; j < perCommit; j++) {
        const r = robotOf(round, j);
        insert.run(r + 1, next[r]!++, Buffer.from(Float64Array.of(j, -j, round).buffer));
      }
    })
    .immediate.bind(null);
  try {
    return await measure('per-stream key (format 1)', commit);
  } finally {
    db.close();
  }
});

const FORMAT_3 = `
  CREATE TABLE chunks (
    position INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL, first_rev INTEGER NOT NULL,
    count INTEGER NOT NULL, events BLOB NOT NULL, prev INTEGER) STRICT;
  CREATE TABLE heads (stream_id INTEGER PRIMARY KEY, next_rev INTEGER NOT NULL, last_position INTEGER) STRICT;
  CREATE TRIGGER chunks_extend_head BEFORE INSERT ON chunks BEGIN
    UPDATE heads SET next_rev = NEW.first_rev + NEW.count, last_position = NEW.position
     WHERE stream_id = NEW.stream_id AND next_rev = NEW.first_rev AND last_position IS NEW.prev;
    SELECT RAISE(ABORT, 'revision conflict') WHERE changes() = 0;
  END;`;

const rowsPerCommit = await withDir(async (dir) => {
  const db = new Database(join(dir, 'events.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(FORMAT_3);
  const addHead = db.prepare('INSERT INTO heads (stream_id, next_rev, last_position) VALUES (?, 0, NULL)');
  for (let r = 0; r < robots; r++) addHead.run(r + 1);
  const insert = db.prepare('INSERT INTO chunks (position, stream_id, first_rev, count, events, prev) VALUES (?, ?, ?, 1, ?, ?)');
  const next = new Array<number>(robots).fill(0);
  const last = new Array<number | null>(robots).fill(null);
  let position = 0;
  const commit = db
    .transaction((round: number) => {
      for (let j = 0; j < perCommit; j++) {
        const r = robotOf(round, j);
        insert.run(++position, r + 1, next[r]!++, Buffer.from(Float64Array.of(j, -j, round).buffer), last[r]!);
        last[r] = position;
      }
    })
    .immediate.bind(null);
  try {
    return await measure('rows per commit (format 3)', commit);
  } finally {
    db.close();
  }
});

process.stdout.write(`${JSON.stringify({ robots, per_commit: perCommit, seconds, results: [current, rowsPerCommit, replaced] }, null, 2)}\n`);
