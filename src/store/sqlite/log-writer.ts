// The embedded log's write side: one connection that commits whole batches of appends, each batch in
// one IMMEDIATE transaction and one fsync. It runs on its own thread (workers/sqlite-writer.ts, fed
// by writer-thread.ts), so parsing, deciding and answering the next frames overlap with the commit.
//
// Each append's expected revision is checked inside the transaction by the insert itself (the
// contiguity trigger refuses a row that does not follow its stream's head), so a concurrent writer —
// another process on the same data dir — can never interleave; a mismatch fails only that append.
//
// A stream's newest rows are found through its chain (see schema.ts); once this writer has written
// `indexEveryRows` rows to a stream, that stream's tail is due to move into the per-stream index.
// That happens between commits (`indexDue`, a few streams per transaction, called when the thread
// has no batch waiting), not inside them: a commit's cost is the appends it carries, and the
// frames waiting on it do not wait for index upkeep.

import type Database from 'better-sqlite3';
import { EVENT_STRIDE } from '../../domain/location.js';
import { EXPECT_ANY, EXPECT_NO_STREAM } from '../event-log.js';
import { toBlob } from './blob.js';

/**
 * Most events in one row. A point read (an events page, a history lookup) decodes whole rows, so a
 * large append is split: reading 100 events never copies more than this many.
 */
export const MAX_ROW_EVENTS = 1024;

/** Rows a batch of appends is stored in (an append of more than MAX_ROW_EVENTS is split). */
export function rowCount(counts: Int32Array): number {
  let rows = 0;
  for (let i = 0; i < counts.length; i++) rows += Math.ceil(counts[i]! / MAX_ROW_EVENTS);
  return rows;
}

/**
 * Rows a stream may gather outside chunk_index before a commit indexes them. Larger means fewer
 * index page writes per row; smaller keeps the chain a read walks short.
 */
export const INDEX_EVERY_ROWS = 64;

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

/** What a committed batch did, append by append. */
export interface WriterOutcome {
  /** Revision of each append's first event; -1 where the append was refused (a conflict). */
  readonly firstRevisions: Float64Array<ArrayBuffer>;
  /** For a refused append, the stream's next revision (0: no stream); unused otherwise. */
  readonly conflictNext: Float64Array<ArrayBuffer>;
  /** Position of every row written, in batch order (an append writes ⌈count / MAX_ROW_EVENTS⌉ rows). */
  readonly rowPositions: Float64Array<ArrayBuffer>;
  /** Streams this batch created, as [name, id] pairs. */
  readonly created: Array<[string, number]>;
  /** Seconds the commit took on the writer thread: statements, index, COMMIT and fsync. */
  readonly seconds: number;
}

export class LogWriter {
  private readonly sql;
  /** Rows written per stream id since that stream's tail was last indexed. */
  private readonly unindexedRows = new Map<number, number>();
  /** Streams whose unindexed rows reached `indexEveryRows`, in the order they did. */
  private readonly due = new Set<number>();
  /**
   * Each stream's last row as this writer last wrote or read it: the next row's `prev` without a
   * lookup. The contiguity trigger still checks it against the head, so an entry made stale by
   * another process's append costs a re-read (insertRows), never a wrong link.
   */
  private readonly lastRows = new Map<number, number | null>();
  private readonly commitTransaction: (batch: WriterBatch) => WriterOutcome;
  private readonly indexAllTransaction: () => void;
  private readonly indexDueTransaction: (maxStreams: number) => void;

  constructor(
    private readonly db: Database.Database,
    private readonly indexEveryRows = INDEX_EVERY_ROWS,
  ) {
    this.sql = {
      streamId: db.prepare<[string], number>('SELECT id FROM streams WHERE name = ?').pluck(),
      insertStream: db.prepare<[string]>('INSERT INTO streams (name) VALUES (?)'),
      nextRev: db.prepare<[number], number>('SELECT next_rev FROM heads WHERE stream_id = ?').pluck(),
      head: db.prepare<[number], { next_rev: number; last_position: number | null }>('SELECT next_rev, last_position FROM heads WHERE stream_id = ?'),
      // The contiguity trigger checks both `prev` and first_rev against the head, so a row can only
      // ever extend its stream's chain.
      insertChunk: db.prepare<[number, number, number, Buffer, number | null]>(
        'INSERT INTO chunks (stream_id, first_rev, count, events, prev) VALUES (?, ?, ?, ?, ?)',
      ),
      // Moves a stream's tail into chunk_index: everything below its next revision becomes indexed.
      indexTail: db.prepare<[{ stream: number }]>(
        `INSERT INTO chunk_index (stream_id, first_rev, position)
         WITH RECURSIVE chain(position, first_rev, prev) AS (
           SELECT c.position, c.first_rev, c.prev FROM heads h JOIN chunks c ON c.position = h.last_position
            WHERE h.stream_id = @stream AND c.first_rev >= h.indexed_rev
           UNION ALL
           SELECT c.position, c.first_rev, c.prev FROM chain JOIN chunks c ON c.position = chain.prev
            WHERE c.first_rev >= (SELECT indexed_rev FROM heads WHERE stream_id = @stream))
         SELECT @stream, first_rev, position FROM chain ORDER BY first_rev`,
      ),
      markIndexed: db.prepare<[number]>('UPDATE heads SET indexed_rev = next_rev WHERE stream_id = ?'),
      streamsWithTails: db.prepare<[], number>('SELECT stream_id FROM heads WHERE indexed_rev < next_rev').pluck(),
    };
    this.commitTransaction = db.transaction(this.commitInTransaction.bind(this)).immediate;
    this.indexDueTransaction = db.transaction((maxStreams: number) => {
      let budget = maxStreams;
      for (const id of this.due) {
        if (budget-- === 0) break;
        this.indexTail(id);
      }
    }).immediate;
    this.indexAllTransaction = db.transaction(() => {
      for (const id of this.sql.streamsWithTails.all()) this.indexTail(id);
    }).immediate;
  }

  /** Commits the batch in one transaction; throws (nothing committed) when the store cannot. */
  commit(batch: WriterBatch): WriterOutcome {
    const started = performance.now();
    const outcome = this.commitTransaction(batch);
    return { ...outcome, seconds: (performance.now() - started) / 1000 };
  }

  /** True while some stream's tail is due for the index. */
  get indexing(): boolean {
    return this.due.size > 0;
  }

  /**
   * Indexes the tails of up to `maxStreams` due streams, oldest due first, in one transaction of
   * their own. The index can always be rebuilt from the rows (indexAllTails), so this transaction
   * is not fsynced on its own: the next commit's fsync carries it, and a crash before that only
   * leaves a longer tail.
   */
  indexDue(maxStreams: number): void {
    if (this.due.size === 0) return;
    this.db.pragma('synchronous = NORMAL');
    try {
      this.indexDueTransaction(maxStreams);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /**
   * Indexes every stream's tail: at start, for tails left by a crash or by other processes, and at
   * a clean stop, so that the next start's reads go straight to the index.
   */
  indexAllTails(): void {
    this.indexAllTransaction();
  }

  private commitInTransaction(batch: WriterBatch): WriterOutcome {
    const n = batch.counts.length;
    const firstRevisions = new Float64Array(n);
    const conflictNext = new Float64Array(n);
    const rowPositions = new Float64Array(rowCount(batch.counts));
    const created: Array<[string, number]> = [];
    let nextName = 0;
    let eventOffset = 0;
    let row = 0;
    for (let i = 0; i < n; i++) {
      const count = batch.counts[i]!;
      const named = batch.ids[i] === 0 ? batch.names[nextName++]! : undefined;
      // A name comes only for a stream whose id the event loop does not know yet (new, or unread).
      let id: number | undefined = named === undefined ? batch.ids[i]! : this.sql.streamId.get(named);
      const expected = batch.expected[i]!;
      const events = batch.events.subarray(eventOffset * EVENT_STRIDE, (eventOffset + count) * EVENT_STRIDE);
      eventOffset += count;
      const rows = Math.ceil(count / MAX_ROW_EVENTS);
      // The revision the first row must have. No head lookup for the usual cases: the insert itself
      // is the check.
      let first: number;
      if (expected === EXPECT_ANY) first = id === undefined ? 0 : (this.sql.nextRev.get(id) ?? 0);
      else if (expected === EXPECT_NO_STREAM) first = 0;
      else if (id === undefined) first = -1;
      else first = expected + 1;
      if (first >= 0 && id === undefined) {
        id = Number(this.sql.insertStream.run(named!).lastInsertRowid);
        created.push([named!, id]);
      }
      if (first < 0 || !this.insertRows(id!, first, events, count, rowPositions, row)) {
        firstRevisions[i] = -1;
        conflictNext[i] = id === undefined ? 0 : (this.sql.nextRev.get(id) ?? 0);
        rowPositions.fill(-1, row, row + rows);
      } else {
        firstRevisions[i] = first;
        const unindexed = (this.unindexedRows.get(id!) ?? 0) + rows;
        this.unindexedRows.set(id!, unindexed);
        if (unindexed >= this.indexEveryRows) this.due.add(id!);
      }
      row += rows;
    }
    return { firstRevisions, conflictNext, rowPositions, created, seconds: 0 };
  }

  /** Inserts the events as rows of at most MAX_ROW_EVENTS; false when the first row is refused. */
  private insertRows(id: number, first: number, events: Float64Array, count: number, positions: Float64Array, at: number): boolean {
    let prev = this.lastRows.has(id) ? this.lastRows.get(id)! : this.readHead(id).last_position;
    for (let offset = 0, row = at; offset < count; offset += MAX_ROW_EVENTS, row++) {
      const rowEvents = events.subarray(offset * EVENT_STRIDE, Math.min(count, offset + MAX_ROW_EVENTS) * EVENT_STRIDE);
      const blob = toBlob(rowEvents);
      const n = rowEvents.length / EVENT_STRIDE;
      let position: number;
      try {
        position = Number(this.sql.insertChunk.run(id, first + offset, n, blob, prev).lastInsertRowid);
      } catch (error) {
        // Only the first row can collide: the rest follow rows this append has just written.
        if (offset !== 0 || !isConflict(error)) throw error;
        // Refused: a real conflict, or only a last row another process moved on. The head says which.
        const head = this.readHead(id);
        if (head.next_rev !== first || head.last_position === prev) return false;
        prev = head.last_position;
        try {
          position = Number(this.sql.insertChunk.run(id, first, n, blob, prev).lastInsertRowid);
        } catch (again) {
          if (isConflict(again)) return false;
          throw again;
        }
      }
      positions[row] = position;
      this.lastRows.set(id, position);
      prev = position;
    }
    return true;
  }

  private readHead(id: number): { next_rev: number; last_position: number | null } {
    const head = this.sql.head.get(id) ?? { next_rev: 0, last_position: null };
    this.lastRows.set(id, head.last_position);
    return head;
  }

  private indexTail(id: number): void {
    this.sql.indexTail.run({ stream: id });
    this.sql.markIndexed.run(id);
    this.unindexedRows.set(id, 0);
    this.due.delete(id);
  }
}

/** A refused insert: the row does not follow its stream's head (another writer got there first). */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_TRIGGER' && /revision conflict/.test(String((error as Error).message));
}
