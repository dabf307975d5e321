// The embedded event log: EventLog on better-sqlite3, with group commit.
//
// Appends made during one turn of the event loop are committed together in one IMMEDIATE
// transaction and one fsync. Each append's expected revision is checked inside that transaction,
// so a concurrent writer — another process on the same data dir — can never interleave with it;
// a mismatch fails only that append, with our conflict error, and the others commit.
//
// A stream's newest rows are found through its chain (see schema.ts); once this instance has
// written `indexEveryRows` rows to a stream, the commit that follows also moves that stream's tail
// into the per-stream index. Reads join the two: index below `indexed_rev`, chain above it.

import type Database from 'better-sqlite3';
import { createError, TelemetryError } from '../../domain/errors.js';
import { EVENT_STRIDE } from '../../domain/location.js';
import {
  LOG_START,
  revisionConflict,
  type AppendResult,
  type EventLog,
  type ExpectedRevision,
  type LogPosition,
  type RecordedChunk,
  type StreamHead,
  type Subscription,
  type SubscriptionHandler,
} from '../event-log.js';
import { fromBlob, toBlob } from './blob.js';
import { openLogDatabase } from './schema.js';
import { prepareStatements, type ChunkRow, type HeadRow, type Statements, type TailRow } from './statements.js';
import { SubscriptionHub } from './subscriptions.js';

/**
 * Most events in one row. A point read (an events page, a history lookup) decodes whole rows, so a
 * large append is split: reading 100 events never copies more than this many.
 */
const MAX_ROW_EVENTS = 1024;

/**
 * Rows a stream may gather outside chunk_index before a commit indexes them. Larger means fewer
 * index page writes per row; smaller keeps the chain a read walks short.
 */
const INDEX_EVERY_ROWS = 64;

/** Revisions per rebuild-scan window: bounds the blob one read materialises (24 B per event). */
const SCAN_WINDOW = 65_536;

export interface SqliteEventLogOptions {
  readonly dataDir: string;
  readonly readonly?: boolean;
  /** How often live subscriptions look for commits by other processes; 0 turns polling off. */
  readonly pollIntervalMs?: number;
  /** Rows a stream gathers before a commit indexes its tail (default INDEX_EVERY_ROWS; tests vary it). */
  readonly indexEveryRows?: number;
}

interface PendingAppend {
  readonly stream: string;
  readonly events: Float64Array;
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
  outcome?: AppendResult | TelemetryError;
}

export class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  private readonly hub: SubscriptionHub;
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly readonly: boolean;
  private commitFailed = false;
  /** Rows this instance has written per stream id since that stream's tail was last indexed. */
  private readonly unindexedRows = new Map<number, number>();
  /** Streams whose unindexed rows reached `indexEveryRows`, in the order they did. */
  private readonly due = new Set<number>();
  private readonly indexEveryRows: number;
  private readonly commitBatch: (batch: PendingAppend[], created: Array<[string, number]>) => RecordedChunk[];
  private readonly indexAllTails: () => void;

  constructor(options: SqliteEventLogOptions) {
    this.readonly = options.readonly ?? false;
    this.indexEveryRows = options.indexEveryRows ?? INDEX_EVERY_ROWS;
    this.db = openLogDatabase(options.dataDir, { readonly: this.readonly });
    this.sql = prepareStatements(this.db);
    this.hub = new SubscriptionHub(
      {
        readAfter: (after, maxEvents) => this.readAfterSync(after, maxEvents),
        lastPosition: () => this.lastPositionSync(),
      },
      options.pollIntervalMs ?? 100,
    );
    this.commitBatch = this.db.transaction((batch: PendingAppend[], created: Array<[string, number]>) => {
      const chunks: RecordedChunk[] = [];
      for (const pending of batch) {
        this.appendInTransaction(pending, created, chunks);
      }
      // Streams written at the same pace come due in the same commit: index at most twice the
      // steady-state share per commit, oldest due first, so that work spreads instead of piling up.
      let budget = 8 + 2 * Math.ceil(chunks.length / this.indexEveryRows);
      for (const id of this.due) {
        if (budget-- === 0) break;
        this.indexTail(id);
      }
      return chunks;
    }).immediate;
    this.indexAllTails = this.db.transaction(() => {
      for (const id of this.sql.streamsWithTails.all()) this.indexTail(id);
    }).immediate;
    // Tails left by a crash, or by other processes, are indexed once here rather than walked by
    // every read until this instance happens to write to them again.
    if (!this.readonly) this.indexAllTails();
  }

  get available(): boolean {
    return !this.closed && !this.commitFailed;
  }

  append(stream: string, events: Float64Array, expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(createError('STORE_UNAVAILABLE', 'the log is closed'));
    if (events.length === 0 || events.length % EVENT_STRIDE !== 0) {
      return Promise.reject(new RangeError('append needs at least one whole (x, y, timestamp) event'));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ stream, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued, in one transaction. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const created: Array<[string, number]> = [];
    let chunks: RecordedChunk[];
    try {
      chunks = this.commitBatch(batch, created);
      this.commitFailed = false;
    } catch (error) {
      this.commitFailed = true;
      const failure = createError('STORE_UNAVAILABLE', error instanceof Error ? error.message : String(error));
      failure.cause = error;
      for (const pending of batch) pending.reject(failure);
      return;
    }
    for (const [name, id] of created) this.remember(name, id);
    // Readers see a commit before its writers are answered: an acknowledged event is readable.
    this.hub.committed(chunks);
    for (const pending of batch) {
      const outcome = pending.outcome!;
      if (outcome instanceof TelemetryError) pending.reject(outcome);
      else pending.resolve(outcome);
    }
  }

  /** Inserts the events as rows of at most MAX_ROW_EVENTS; the insert is the expected-revision check. */
  private appendInTransaction(
    pending: PendingAppend,
    created: Array<[string, number]>,
    chunks: RecordedChunk[],
  ): void {
    const { stream, events, expected } = pending;
    let id = this.ids.get(stream) ?? this.sql.streamId.get(stream)?.id;
    const nextRevision = () => (id === undefined ? 0 : (this.sql.head.get(id)?.next_rev ?? 0));
    const conflict = () => {
      const next = nextRevision();
      pending.outcome = revisionConflict(stream, expected, next === 0 ? 'no_stream' : BigInt(next - 1));
    };
    // The revision the first row must have. No head lookup for the usual cases: the insert itself is
    // the check (the contiguity trigger refuses a row that does not follow the head).
    let firstRevision: number;
    if (expected === 'any') {
      firstRevision = nextRevision();
    } else if (expected === 'no_stream') {
      firstRevision = 0;
    } else {
      if (id === undefined) return conflict();
      firstRevision = Number(expected) + 1;
    }
    if (id === undefined) {
      id = Number(this.sql.insertStream.run(stream).lastInsertRowid);
      created.push([stream, id]);
    }
    const count = events.length / EVENT_STRIDE;
    let position = 0;
    let rows = 0;
    for (let offset = 0; offset < count; offset += MAX_ROW_EVENTS) {
      const rowEvents = events.subarray(offset * EVENT_STRIDE, Math.min(count, offset + MAX_ROW_EVENTS) * EVENT_STRIDE);
      const rowRevision = firstRevision + offset;
      try {
        position = Number(this.sql.insertChunk.run(id, rowRevision, rowEvents.length / EVENT_STRIDE, toBlob(rowEvents), id).lastInsertRowid);
      } catch (error) {
        // Only the first row can collide: the rest follow rows this append has just written.
        if (offset === 0 && isConflict(error)) return conflict();
        throw error;
      }
      rows++;
      chunks.push({ position: BigInt(position), stream, firstRevision: BigInt(rowRevision), events: rowEvents });
    }
    const unindexed = (this.unindexedRows.get(id) ?? 0) + rows;
    this.unindexedRows.set(id, unindexed);
    if (unindexed >= this.indexEveryRows) this.due.add(id);
    pending.outcome = {
      nextExpectedRevision: BigInt(firstRevision + count - 1),
      position: BigInt(position),
    };
  }

  private indexTail(id: number): void {
    this.sql.indexTail.run({ stream: id });
    this.sql.markIndexed.run(id);
    this.unindexedRows.set(id, 0);
    this.due.delete(id);
  }

  async readStream(stream: string, fromRevision: bigint, maxCount: number): Promise<RecordedChunk | null> {
    const id = this.idOf(stream);
    if (id === undefined || maxCount <= 0) return null;
    return this.snapshot(() => this.readStreamSync(id, stream, Number(fromRevision), maxCount));
  }

  private readStreamSync(id: number, stream: string, from: number, maxCount: number): RecordedChunk | null {
    const head = this.sql.head.get(id);
    if (head === undefined || from >= head.next_rev) return null;
    const end = Math.min(head.next_rev, from + maxCount);
    const parts: Float64Array[] = [];
    let total = 0;
    let position = 0;
    const indexedEnd = Math.min(end, head.indexed_rev);
    if (from < indexedEnd) {
      const want = indexedEnd - from;
      // The indexed rows are contiguous from revision 0, so this row holds `from`; the query cut
      // its blob to the requested events.
      const first = this.sql.chunkAt.get({ stream: id, rev: from, take: want })!;
      const events = fromBlob(first.events);
      parts.push(events);
      total += events.length / EVENT_STRIDE;
      position = first.position;
      // Every row holds at least one event, so the rest needs at most that many rows.
      if (total < want) {
        for (const row of this.sql.chunksAfter.all(id, first.first_rev, want - total)) {
          const take = Math.min(row.count, want - total);
          const rowEvents = fromBlob(row.events);
          parts.push(take === row.count ? rowEvents : rowEvents.subarray(0, take * EVENT_STRIDE));
          total += take;
          position = row.position;
          if (total === want) break;
        }
      }
    }
    if (end > head.indexed_rev) {
      const tailFrom = Math.max(from, head.indexed_rev);
      for (const row of this.tailFrom(id, tailFrom)) {
        const skip = Math.max(0, tailFrom - row.first_rev);
        const take = Math.min(row.count - skip, end - (from + total));
        if (take <= 0) break;
        parts.push(fromBlob(row.events).subarray(skip * EVENT_STRIDE, (skip + take) * EVENT_STRIDE));
        total += take;
        position = row.position;
      }
    }
    return { position: BigInt(position), stream, firstRevision: BigInt(from), events: concat(parts, total) };
  }

  /** The stream's unindexed rows that hold revision `from` or later, oldest first. */
  private tailFrom(id: number, from: number): TailRow[] {
    return this.sql.tail.all({ stream: id, from }).reverse();
  }

  async scanStream(stream: string, visit: (events: Float64Array) => void): Promise<number> {
    const id = this.idOf(stream);
    if (id === undefined) return 0;
    return this.snapshot(() => {
      const head: HeadRow | undefined = this.sql.head.get(id);
      if (head === undefined) return 0;
      let count = 0;
      // One aligned copy per window of up to SCAN_WINDOW events: no per-row typed array or chunk object.
      for (let lo = 0; lo < head.indexed_rev; lo += SCAN_WINDOW) {
        const blob = this.sql.windowBlob.get(id, lo, Math.min(lo + SCAN_WINDOW, head.indexed_rev));
        if (blob === null || blob === undefined) continue;
        const events = fromBlob(blob);
        visit(events);
        count += events.length / EVENT_STRIDE;
      }
      const tail = this.tailFrom(id, head.indexed_rev);
      if (tail.length > 0) {
        const events = fromBlob(Buffer.concat(tail.map((row) => row.events)));
        visit(events);
        count += events.length / EVENT_STRIDE;
      }
      return count;
    });
  }

  /** Runs several reads against one snapshot of the database, so the head and the rows agree. */
  private snapshot<T>(read: () => T): T {
    return this.db.transaction(read).deferred();
  }

  async readAll(after: LogPosition, maxEvents: number): Promise<RecordedChunk[]> {
    return this.readAfterSync(Number(after), maxEvents);
  }

  private readAfterSync(after: number, maxEvents: number): RecordedChunk[] {
    const chunks: RecordedChunk[] = [];
    let total = 0;
    for (const row of this.sql.allAfter.iterate(after)) {
      chunks.push(this.toChunk(row));
      total += row.count;
      if (total >= maxEvents) break;
    }
    return chunks;
  }

  async head(stream: string): Promise<StreamHead | null> {
    const id = this.idOf(stream);
    if (id === undefined) return null;
    return this.snapshot(() => {
      const head = this.sql.head.get(id);
      if (head === undefined || head.last_position === null) return null;
      const last = fromBlob(this.sql.lastEvent.get(head.last_position)!);
      return { revision: BigInt(head.next_rev - 1), x: last[0]!, y: last[1]!, timestamp: last[2]! };
    });
  }

  async listStreams(): Promise<string[]> {
    return this.sql.listStreams.all().map((row) => row.name);
  }

  async identity(): Promise<string> {
    const row = this.sql.logId.get();
    if (row === undefined) throw new Error('the log has no id (opened read-only before it was ever opened for writing?)');
    return `sqlite:${row.value}`;
  }

  async lastPosition(): Promise<LogPosition> {
    return BigInt(this.lastPositionSync());
  }

  private lastPositionSync(): number {
    return this.sql.lastPosition.get()?.position ?? Number(LOG_START);
  }

  subscribe(after: LogPosition, handler: SubscriptionHandler): Subscription {
    return this.hub.subscribe(after, handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    // A clean stop leaves no tails: the next start's reads go straight to the index.
    if (!this.readonly && !this.commitFailed) {
      try {
        this.indexAllTails();
      } catch {
        // Only an optimisation: reads walk the chain of whatever is left unindexed.
      }
    }
    this.hub.closeAll();
    this.db.close();
  }

  private toChunk(row: ChunkRow): RecordedChunk {
    return {
      position: BigInt(row.position),
      stream: this.nameOf(row.stream_id),
      firstRevision: BigInt(row.first_rev),
      events: fromBlob(row.events),
    };
  }

  private idOf(stream: string): number | undefined {
    const cached = this.ids.get(stream);
    if (cached !== undefined) return cached;
    const id = this.sql.streamId.get(stream)?.id;
    if (id !== undefined) this.remember(stream, id);
    return id;
  }

  private nameOf(id: number): string {
    const cached = this.names.get(id);
    if (cached !== undefined) return cached;
    const name = this.sql.streamName.get(id)?.name;
    if (name === undefined) throw new Error(`chunk refers to unknown stream id ${id}`);
    this.remember(name, id);
    return name;
  }

  private remember(name: string, id: number): void {
    this.ids.set(name, id);
    this.names.set(id, name);
  }
}

/** A refused insert: the row does not follow its stream's head (another writer got there first). */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_TRIGGER' && /revision conflict/.test(String((error as Error).message));
}


function concat(parts: Float64Array[], eventTotal: number): Float64Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float64Array(eventTotal * EVENT_STRIDE);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
