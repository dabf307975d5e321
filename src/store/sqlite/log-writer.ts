// The embedded log's write side: one connection that commits whole batches of appends, each batch in
// one IMMEDIATE transaction and one fsync, as one row of `commits` (schema.ts). It runs on its own
// thread (workers/sqlite-writer.ts, fed by writer-thread.ts), so parsing, deciding and answering the
// next frames overlap with the commit; the same thread later copies the commits into each stream's
// rows (stream-merger.ts), off the path of the appends waiting for their commit.
//
// Each append's expected revision is checked inside the transaction, as the append is taken,
// against its stream's next revision, which the writer keeps in memory: the store holds no per-append
// head to update (schema.ts). The transaction first reads where the log ends; if it ends anywhere but
// after this writer's last commit, another writer — another process on the same data dir — has
// committed since, and the writer derives every stream's next revision again from the rows and the
// commits before taking any append. Under the transaction's write lock nobody can commit in between,
// so two writers can never interleave, and a mismatch fails only that append. Taken appends go into
// the commit row in batch order; a stream appended twice in one batch appears twice, the second
// after the first.

import type Database from 'better-sqlite3';
import { EVENT_STRIDE } from '../../domain/location.js';
import { EXPECT_ANY, EXPECT_NO_STREAM } from '../event-log.js';

/**
 * A batch of appends packed into transferable arrays: no object per append crosses the thread.
 * Append i writes `counts[i]` events (the next ones in `events`) to stream `ids[i]`, or, where
 * `ids[i]` is 0, to the stream named by the next entry of `names` (created if need be), if the
 * stream's head is at `expected[i]` (a revision, or the port's EXPECT_NO_STREAM / EXPECT_ANY).
 */
export interface WriterBatch {
  readonly ids: Int32Array<ArrayBuffer>;
  readonly names: string[];
  readonly expected: Float64Array<ArrayBuffer>;
  readonly counts: Int32Array<ArrayBuffer>;
  readonly events: Float64Array<ArrayBuffer>;
}

/** One append of a commit row's directory (schema.ts): its stream, first revision and event count. */
export type DirectoryEntry = readonly [id: number, first: number, count: number];

/** A commit row's directory, its appends in order, as `commitInTransaction` writes it. */
export function readDirectory(json: string): DirectoryEntry[] {
  return JSON.parse(json) as DirectoryEntry[];
}

/** A commit row as written, for the merger on the same thread: no need to read it back. */
export interface StoredCommit {
  readonly position: number;
  /** Per append of the row: its stream, first revision and event count. */
  readonly ids: Int32Array;
  readonly firsts: Float64Array;
  readonly counts: Int32Array;
  /** The row's events, the appends' one after another. */
  readonly events: Float64Array;
}

/** What a committed batch did, append by append. */
export interface WriterOutcome {
  /** Revision of each append's first event; -1 where the append was refused (a conflict). */
  readonly firstRevisions: Float64Array<ArrayBuffer>;
  /** For a refused append, the stream's next revision (0: no stream); unused otherwise. */
  readonly conflictNext: Float64Array<ArrayBuffer>;
  /** Log position of each append; -1 where it was refused. */
  readonly positions: Float64Array<ArrayBuffer>;
  /** Streams this batch created, as [name, id] pairs. */
  readonly created: Array<[string, number]>;
  /** Seconds the commit took on the writer thread: statements, COMMIT and fsync. */
  readonly seconds: number;
}

/** `LogWriter.end` when the writer's heads are not known to match the store. */
const UNKNOWN = -1;

export class LogWriter {
  private readonly sql;
  private readonly commitTransaction: (batch: WriterBatch) => WriterOutcome;
  /** The row the transaction in progress wrote, if any. */
  private stored: StoredCommit | undefined;
  /** Next revision of each stream, by id, as of the log ending at `end`. */
  private nextRevs: number[] = [];
  /** The log position after the last commit, when `nextRevs` was derived or last moved on. */
  private end = UNKNOWN;

  /** @param onCommitted told of each commit row once its transaction has committed. */
  constructor(
    db: Database.Database,
    private readonly onCommitted: (commit: StoredCommit) => void = () => undefined,
  ) {
    this.sql = {
      streamId: db.prepare<[string], number>('SELECT id FROM streams WHERE name = ?').pluck(),
      insertStream: db.prepare<[string]>('INSERT INTO streams (name) VALUES (?)'),
      // Where each stream's rows end, and the directories of the commits after those in the rows.
      mergedRevs: db.prepare<[], [number, number]>('SELECT stream_id, merged_rev FROM heads').raw(),
      unmergedDirectories: db.prepare<[], string>(
        "SELECT directory FROM commits WHERE position > (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'merged_through') ORDER BY position",
      ).pluck(),
      nextPosition: db.prepare<[], number | null>('SELECT position + appends FROM commits ORDER BY position DESC LIMIT 1').pluck(),
      legacyEnd: db.prepare<[], number>("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'legacy_end'").pluck(),
      insertCommit: db.prepare<[number, number, string, Buffer]>('INSERT INTO commits (position, appends, directory, events) VALUES (?, ?, ?, ?)'),
    };
    this.commitTransaction = db.transaction(this.commitInTransaction.bind(this)).immediate;
  }

  /** Commits the batch in one transaction; throws (nothing committed) when the store cannot. */
  commit(batch: WriterBatch): WriterOutcome {
    const started = performance.now();
    // The commit row's events follow from the counts: a batch whose counts do not add up is refused
    // whole, before it takes the write lock.
    let total = 0;
    for (let i = 0; i < batch.counts.length; i++) total += batch.counts[i]!;
    if (total * EVENT_STRIDE !== batch.events.length) throw new RangeError(`a batch of ${total} events carries ${batch.events.length / EVENT_STRIDE}`);
    this.stored = undefined;
    let outcome: WriterOutcome;
    try {
      outcome = this.commitTransaction(batch);
    } catch (error) {
      // Rolled back: the heads the transaction moved on are not the store's.
      this.end = UNKNOWN;
      throw error;
    }
    if (this.stored !== undefined) this.onCommitted(this.stored);
    return { ...outcome, seconds: (performance.now() - started) / 1000 };
  }

  private commitInTransaction(batch: WriterBatch): WriterOutcome {
    const n = batch.counts.length;
    const firstRevisions = new Float64Array(n).fill(-1);
    const conflictNext = new Float64Array(n);
    const positions = new Float64Array(n).fill(-1);
    const created: Array<[string, number]> = [];
    const position = this.sql.nextPosition.get() ?? this.sql.legacyEnd.get()! + 1;
    if (position !== this.end) this.deriveNextRevs();
    const nextRevs = this.nextRevs;
    // The commit row: its directory, and which of the batch's appends it holds.
    let directory = '[';
    const stored: number[] = [];
    const ids = new Int32Array(n);
    const firsts = new Float64Array(n);
    const counts = new Int32Array(n);
    let nextName = 0;
    for (let i = 0; i < n; i++) {
      const count = batch.counts[i]!;
      const named = batch.ids[i] === 0 ? batch.names[nextName++]! : undefined;
      // A name comes only for a stream whose id the event loop does not know yet (new, or unread).
      let id: number | undefined = named === undefined ? batch.ids[i]! : this.sql.streamId.get(named);
      const expected = batch.expected[i]!;
      // The stream's next revision, and the one the append must start at. Heads move as each
      // append is taken, so an append sees those before it in the batch.
      const next = id === undefined ? 0 : (nextRevs[id] ?? 0);
      let first: number;
      if (expected === EXPECT_ANY) first = next;
      else if (expected === EXPECT_NO_STREAM) first = 0;
      else if (id === undefined) first = -1;
      else first = expected + 1;
      if (first === next && id === undefined) {
        id = Number(this.sql.insertStream.run(named!).lastInsertRowid);
        created.push([named!, id]);
      }
      if (first === next) {
        nextRevs[id!] = first + count;
        firstRevisions[i] = first;
        directory += (stored.length === 0 ? '[' : ',[') + id + ',' + first + ',' + count + ']';
        ids[stored.length] = id!;
        firsts[stored.length] = first;
        counts[stored.length] = count;
        stored.push(i);
      } else {
        conflictNext[i] = next;
      }
    }
    if (stored.length > 0) {
      const events = eventsOf(batch, stored);
      this.sql.insertCommit.run(position, stored.length, directory + ']', Buffer.from(events.buffer, events.byteOffset, events.byteLength));
      for (let k = 0; k < stored.length; k++) positions[stored[k]!] = position + k;
      const k = stored.length;
      this.stored = { position, ids: ids.subarray(0, k), firsts: firsts.subarray(0, k), counts: counts.subarray(0, k), events };
    }
    this.end = position + stored.length;
    return { firstRevisions, conflictNext, positions, created, seconds: 0 };
  }

  /**
   * Every stream's next revision, from the store: the end of its last append in the commits after
   * `merged_through`, or where its rows end if it has none there. (A merge in progress may have put
   * some of those commits in rows already: their appends end no later than the last.)
   */
  private deriveNextRevs(): void {
    const nextRevs: number[] = [];
    for (const [id, merged] of this.sql.mergedRevs.iterate()) nextRevs[id] = merged;
    for (const directory of this.sql.unmergedDirectories.iterate()) {
      for (const [id, first, count] of readDirectory(directory)) nextRevs[id] = first + count;
    }
    this.nextRevs = nextRevs;
  }
}

/** The events of the batch's appends `stored`: the batch's own when they are all of it, else a copy. */
function eventsOf(batch: WriterBatch, stored: number[]): Float64Array {
  const all = batch.events;
  if (stored.length === batch.counts.length) return all;
  const starts = new Int32Array(batch.counts.length + 1);
  for (let i = 0; i < batch.counts.length; i++) starts[i + 1] = starts[i]! + batch.counts[i]!;
  let total = 0;
  for (const i of stored) total += batch.counts[i]!;
  const events = new Float64Array(total * EVENT_STRIDE);
  let offset = 0;
  for (const i of stored) {
    events.set(all.subarray(starts[i]! * EVENT_STRIDE, starts[i + 1]! * EVENT_STRIDE), offset);
    offset += batch.counts[i]! * EVENT_STRIDE;
  }
  return events;
}
