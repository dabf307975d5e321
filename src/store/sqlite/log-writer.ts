// The embedded log's write side: one connection that commits whole batches of appends, each batch in
// one IMMEDIATE transaction and one fsync. It runs on its own thread (workers/sqlite-writer.ts, fed
// by writer-thread.ts), so parsing, deciding and answering the next frames overlap with the commit.
//
// Each append's expected revision is checked inside the transaction by the insert itself (the
// trigger that moves the stream's head on refuses a row that does not follow it), so a concurrent
// writer — another process on the same data dir — can never interleave; a mismatch fails only that
// append. Rows are given their positions (the next after the log's last, read once per commit), so
// the trigger can link the head to the row before it is inserted.
//
// A stream's newest rows are found through its chain (see schema.ts); once this writer has written
// `indexEveryRows` rows to a stream, the commit that wrote the last of them also indexes them, as
// one group: the writer remembers the positions of the rows it wrote, so a group costs one insert
// and no walk. The head's `indexed_rev` is the check that the run it remembers is the whole tail;
// where it is not (another process wrote to the stream, or the tail is older than this writer)
// the tail is walked through its chain instead.

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
 * Rows a stream gathers outside the index before a commit indexes them as one group. Larger means
 * fewer index writes; smaller keeps short both the chain a read of the newest events walks and the
 * rows a read within a group passes over.
 */
export const INDEX_EVERY_ROWS = 64;

/**
 * A run also becomes a group once it holds this many events per row of its length. A read within a
 * group looks at each of its rows, so groups of large rows are kept to a few rows: a stream
 * appended 1,024 events at a time is indexed a row at a time, while one row per commit of a live
 * robot (a few events) still makes groups of INDEX_EVERY_ROWS.
 */
const GROUP_ROW_EVENTS = 16;

/**
 * Streams of consecutive ids whose first groups are filled in the same commit (see runFor): a
 * commit's groups then land on a few pages of chunk_groups rather than one page each.
 */
const STAGGER_BLOCK = 16;

/** Run.from of a run that is not all of its stream's tail: no head's `indexed_rev` matches it. */
const GAPPED = -1;

/** The rows this writer has written to a stream since its last group. */
interface Run {
  /**
   * Revision of the run's first row — the head's `indexed_rev` if the run is the whole tail — or
   * GAPPED once rows of another writer fell between the run's.
   */
  from: number;
  /** The revision after the run's last row. */
  next: number;
  readonly positions: number[];
  /** Events in the run's rows. */
  events: number;
  /** Rows at which the run becomes a group (or length × GROUP_ROW_EVENTS events, if sooner). */
  readonly length: number;
}

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
  /** Per stream id, the rows written since its last group. */
  private readonly runs = new Map<number, Run>();
  /**
   * Each stream's last row as this writer last wrote or read it: the next row's `prev` without a
   * lookup. The insert's trigger still checks it against the head, so an entry made stale by
   * another process's append costs a re-read (insertRows), never a wrong link.
   */
  private readonly lastRows = new Map<number, number | null>();
  /** Position of the next row, during a commit. */
  private nextPosition = 0;
  private readonly commitTransaction: (batch: WriterBatch) => WriterOutcome;
  private readonly indexAllTransaction: () => void;

  constructor(
    db: Database.Database,
    private readonly indexEveryRows = INDEX_EVERY_ROWS,
  ) {
    this.sql = {
      streamId: db.prepare<[string], number>('SELECT id FROM streams WHERE name = ?').pluck(),
      insertStream: db.prepare<[string]>('INSERT INTO streams (name) VALUES (?)'),
      nextRev: db.prepare<[number], number>('SELECT next_rev FROM heads WHERE stream_id = ?').pluck(),
      head: db.prepare<[number], { next_rev: number; last_position: number | null }>('SELECT next_rev, last_position FROM heads WHERE stream_id = ?'),
      // The trigger checks both `prev` and first_rev against the head, so a row can only ever
      // extend its stream's chain.
      insertChunk: db.prepare<[number, number, number, number, Buffer, number | null]>(
        'INSERT INTO chunks (position, stream_id, first_rev, count, events, prev) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      lastPosition: db.prepare<[], number | null>('SELECT max(position) FROM chunks').pluck(),
      // Claims a run as the stream's whole tail: true (one change) only if the groups end where the
      // run starts and the head where it ends (the run itself is contiguous).
      claimTail: db.prepare<[{ stream: number; from: number; next: number }]>(
        'UPDATE heads SET indexed_rev = @next WHERE stream_id = @stream AND indexed_rev = @from AND next_rev = @next',
      ),
      insertGroup: db.prepare<[number, number, string]>('INSERT INTO chunk_groups (stream_id, first_rev, positions) VALUES (?, ?, ?)'),
      // Indexes a stream's tail, whoever wrote it, as one group: its chain walked from the head.
      groupTail: db.prepare<[{ stream: number }]>(
        `INSERT INTO chunk_groups (stream_id, first_rev, positions)
         WITH RECURSIVE chain(position, first_rev, prev) AS (
           SELECT c.position, c.first_rev, c.prev FROM heads h JOIN chunks c ON c.position = h.last_position
            WHERE h.stream_id = @stream AND c.first_rev >= h.indexed_rev
           UNION ALL
           SELECT c.position, c.first_rev, c.prev FROM chain JOIN chunks c ON c.position = chain.prev
            WHERE c.first_rev >= (SELECT indexed_rev FROM heads WHERE stream_id = @stream))
         SELECT @stream, min(first_rev), json_group_array(position ORDER BY first_rev) FROM chain HAVING count(*) > 0`,
      ),
      markIndexed: db.prepare<[number]>('UPDATE heads SET indexed_rev = next_rev WHERE stream_id = ?'),
      streamsWithTails: db.prepare<[], number>('SELECT stream_id FROM heads WHERE indexed_rev < next_rev').pluck(),
    };
    this.commitTransaction = db.transaction(this.commitInTransaction.bind(this)).immediate;
    this.indexAllTransaction = db.transaction(() => {
      for (const id of this.sql.streamsWithTails.all()) this.walkTail(id);
      this.runs.clear();
    }).immediate;
  }

  /** Commits the batch in one transaction; throws (nothing committed) when the store cannot. */
  commit(batch: WriterBatch): WriterOutcome {
    const started = performance.now();
    let outcome: WriterOutcome;
    try {
      outcome = this.commitTransaction(batch);
    } catch (error) {
      // Rolled back: what this writer remembered of the batch's rows names positions that are not
      // theirs any more (another writer may fill them next). Start again from what is stored.
      this.runs.clear();
      this.lastRows.clear();
      throw error;
    }
    return { ...outcome, seconds: (performance.now() - started) / 1000 };
  }

  /**
   * Indexes every stream's tail: at start, for tails left by a crash or by other processes, and at
   * a clean stop, so that the next start's reads go straight to the index.
   */
  indexAllTails(): void {
    this.indexAllTransaction();
  }

  private commitInTransaction(batch: WriterBatch): WriterOutcome {
    this.nextPosition = (this.sql.lastPosition.get() ?? 0) + 1;
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
      }
      row += rows;
    }
    return { firstRevisions, conflictNext, rowPositions, created, seconds: 0 };
  }

  /**
   * Inserts the events as rows of at most MAX_ROW_EVENTS, each added to the stream's run as it is
   * written; false when the first row is refused.
   */
  private insertRows(id: number, first: number, events: Float64Array, count: number, positions: Float64Array, at: number): boolean {
    let prev = this.lastRows.has(id) ? this.lastRows.get(id)! : this.readHead(id).last_position;
    let run: Run | undefined;
    for (let offset = 0, row = at; offset < count; offset += MAX_ROW_EVENTS, row++) {
      const rowEvents = events.subarray(offset * EVENT_STRIDE, Math.min(count, offset + MAX_ROW_EVENTS) * EVENT_STRIDE);
      const blob = toBlob(rowEvents);
      const n = rowEvents.length / EVENT_STRIDE;
      const position = this.nextPosition;
      try {
        this.sql.insertChunk.run(position, id, first + offset, n, blob, prev);
      } catch (error) {
        // Only the first row can collide: the rest follow rows this append has just written.
        if (offset !== 0 || !isConflict(error)) throw error;
        // Refused: a real conflict, or only a last row another process moved on. The head says which.
        const head = this.readHead(id);
        if (head.next_rev !== first || head.last_position === prev) return false;
        prev = head.last_position;
        try {
          this.sql.insertChunk.run(position, id, first, n, blob, prev);
        } catch (again) {
          if (isConflict(again)) return false;
          throw again;
        }
      }
      this.nextPosition++;
      positions[row] = position;
      this.lastRows.set(id, position);
      prev = position;
      run = this.extendRun(id, run ?? this.runFor(id, first), position, first + offset, n);
    }
    return true;
  }

  private readHead(id: number): { next_rev: number; last_position: number | null } {
    const head = this.sql.head.get(id) ?? { next_rev: 0, last_position: null };
    this.lastRows.set(id, head.last_position);
    return head;
  }

  /** The stream's run, to take an append's rows from revision `first` on. */
  private runFor(id: number, first: number): Run {
    const run = this.runs.get(id);
    if (run === undefined) {
      // A fleet's robots are written in the same commits: were their first runs as long as the
      // rest, every stream would fill a group in the same commit, every indexEveryRows commits.
      // Stretched by up to a run, about 1/indexEveryRows of them fill one per commit — by blocks of
      // consecutive ids, whose groups share index pages, so a commit's groups dirty few of them.
      const stretch = Math.floor(id / STAGGER_BLOCK) % this.indexEveryRows;
      return this.newRun(id, first, this.indexEveryRows + stretch);
    }
    // Someone else's rows came between: the tail is walked when it is due. Only this writer's rows
    // count towards that, so k writers taking turns let a tail grow to about k groups' worth.
    if (run.next !== first) run.from = GAPPED;
    return run;
  }

  /**
   * Adds a row just written (`n` events from revision `rowFirst`, at `position`) to the run; once
   * the run is long enough, indexes it and returns the run that follows.
   */
  private extendRun(id: number, run: Run, position: number, rowFirst: number, n: number): Run {
    run.positions.push(position);
    run.events += n;
    run.next = rowFirst + n;
    if (run.positions.length < run.length && run.events < run.length * GROUP_ROW_EVENTS) return run;
    if (this.sql.claimTail.run({ stream: id, from: run.from, next: run.next }).changes === 1) {
      this.sql.insertGroup.run(id, run.from, JSON.stringify(run.positions));
    } else {
      this.walkTail(id);
    }
    return this.newRun(id, run.next, this.indexEveryRows);
  }

  /** A run from revision `from`, empty, in place of the stream's last. */
  private newRun(id: number, from: number, length: number): Run {
    const run: Run = { from, next: from, positions: [], events: 0, length };
    this.runs.set(id, run);
    return run;
  }

  private walkTail(id: number): void {
    this.sql.groupTail.run({ stream: id });
    this.sql.markIndexed.run(id);
  }
}

/** A refused insert: the row does not follow its stream's head (another writer got there first). */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_TRIGGER' && /revision conflict/.test(String((error as Error).message));
}
