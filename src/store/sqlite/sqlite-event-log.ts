// The embedded event log: EventLog on better-sqlite3, with group commit on a writer thread.
//
// Appends made while a commit is in flight (or during one turn of the event loop) — single appends
// and appendMany batches alike — are packed into one batch, committed by the writer thread
// (log-writer.ts) as one row of `commits` in one IMMEDIATE transaction and one fsync, each append's
// expected revision checked inside it: a mismatch fails only that append, with our conflict error,
// and the others commit. The event loop meanwhile parses, decides and answers; it keeps a connection
// of its own for reads (WAL lets them run beside the writer).
//
// Reading the whole log reads the commits in order. Reading a stream joins its rows (schema.ts:
// groups below `indexed_rev`, the chain above it, up to `merged_rev`) and, past them, its appends in
// the commits the writer has not yet merged into rows (unmerged-commits.ts).

import type Database from 'better-sqlite3';
import { createError } from '../../domain/errors.js';
import { EVENT_STRIDE } from '../../domain/location.js';
import {
  checkBatch,
  expectedCode,
  failedBatch,
  LOG_START,
  revisionConflict,
  type AppendBatch,
  type AppendResult,
  type BatchResult,
  type ChunkColumns,
  type CommitListener,
  type EventLog,
  type ExpectedRevision,
  type LogPosition,
  type RecordedChunk,
  type StreamHead,
  type Subscription,
  type SubscriptionHandler,
} from '../event-log.js';
import { concatEvents, fromBlob } from './blob.js';
import { readDirectory, type WriterBatch, type WriterOutcome } from './log-writer.js';
import { openLogDatabase } from './schema.js';
import { prepareStatements, type ChunkRow, type HeadRow, type Statements, type TailRow } from './statements.js';
import { SubscriptionHub } from './subscriptions.js';
import { UnmergedCommits, type CommitPart } from './unmerged-commits.js';
import { WriterThread } from './writer-thread.js';

/**
 * Revisions per rebuild-scan window: the groups starting in it are read as one blob (24 B per
 * event), so this bounds a blob to about itself plus one group.
 */
const SCAN_WINDOW = 65_536;

const EMPTY = new Float64Array(0);

export interface SqliteEventLogOptions {
  readonly dataDir: string;
  readonly readonly?: boolean;
  /** How often live subscriptions look for commits by other processes; 0 turns polling off. */
  readonly pollIntervalMs?: number;
  /** Rows a stream gathers before a merge indexes its tail (default INDEX_EVERY_ROWS; tests vary it). */
  readonly indexEveryRows?: number;
  /** Commits merged into the streams' rows together (default MERGE_COMMITS; tests vary it). */
  readonly mergeCommits?: number;
  /** Whether the writer merges what is left once appends pause (default true; tests turn it off). */
  readonly mergeWhenIdle?: boolean;
  /** Told when merging commits into the streams' rows fails (it is tried again; reads find the events in the commits). */
  readonly onBackgroundError?: (error: Error) => void;
}

/**
 * Appends waiting for the writer: one `append` call (one stream) or one `appendMany` call, settled
 * together once the batch holding them commits or fails. `at` locates the request's first append in
 * the writer's outcome.
 */
interface Request {
  readonly batch: AppendBatch;
  committed(outcome: WriterOutcome, at: number): void;
  failed(error: Error): void;
}

/** A stream's head as one snapshot sees it (`headOf`). */
interface StreamHeadState extends HeadRow {
  /** The stream's appends in the commits not yet merged, past its rows, oldest first. */
  readonly parts: CommitPart[];
  /** The stream's next revision. */
  readonly next: number;
}

export class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();
  private readonly hub: SubscriptionHub;
  private readonly unmerged: UnmergedCommits;
  private readonly writer: WriterThread | undefined;
  private queue: Request[] = [];
  /**
   * Calls its argument inside one read transaction. Made once: a transaction function costs more to
   * make than the reads it wraps.
   */
  private readonly readTransaction: (read: () => unknown) => unknown;
  private flushScheduled = false;
  /** The batch being committed, settled once its outcome is taken in. */
  private inFlight: Promise<void> | undefined;
  /** Set by close(): once it is, appends are refused. */
  private closing: Promise<void> | undefined;
  private commitFailed = false;
  private commitListener: CommitListener | undefined;

  constructor(options: SqliteEventLogOptions) {
    const readonly = options.readonly ?? false;
    this.db = openLogDatabase(options.dataDir, { readonly });
    this.sql = prepareStatements(this.db);
    this.unmerged = new UnmergedCommits(this.db);
    this.readTransaction = this.db.transaction((read: () => unknown) => read()).deferred;
    this.hub = new SubscriptionHub(
      {
        readAfter: (after, maxEvents) => this.readAfterSync(after, maxEvents),
        lastPosition: () => this.lastPositionSync(),
      },
      options.pollIntervalMs ?? 100,
    );
    const start = { dataDir: options.dataDir, indexEveryRows: options.indexEveryRows, mergeCommits: options.mergeCommits, mergeWhenIdle: options.mergeWhenIdle };
    this.writer = readonly ? undefined : new WriterThread(start, options.onBackgroundError);
  }

  get available(): boolean {
    return this.closing === undefined && !this.commitFailed;
  }

  append(stream: string, events: Float64Array, expected: ExpectedRevision): Promise<AppendResult> {
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    if (events.length === 0 || events.length % EVENT_STRIDE !== 0) {
      return Promise.reject(new RangeError('append needs at least one whole (x, y, timestamp) event'));
    }
    const count = events.length / EVENT_STRIDE;
    const batch: AppendBatch = { streams: [stream], expected: Float64Array.of(expectedCode(expected)), counts: Int32Array.of(count), events };
    return new Promise<AppendResult>((resolve, reject) => {
      this.enqueue({
        batch,
        committed(outcome, at) {
          const first = outcome.firstRevisions[at]!;
          if (first < 0) {
            const next = outcome.conflictNext[at]!;
            reject(revisionConflict(stream, expected, next === 0 ? 'no_stream' : BigInt(next - 1)));
          } else {
            resolve({ nextExpectedRevision: BigInt(first + count - 1), position: BigInt(outcome.positions[at]!) });
          }
        },
        failed: reject,
      });
    });
  }

  appendMany(batch: AppendBatch): Promise<BatchResult> {
    const refusal = this.refusal();
    const n = batch.streams.length;
    if (refusal !== undefined) return Promise.resolve(failedBatch(n, refusal));
    try {
      checkBatch(batch);
    } catch (error) {
      return Promise.reject(error);
    }
    if (n === 0) return Promise.resolve({ firstRevisions: new Float64Array(0), failures: new Map() });
    return new Promise<BatchResult>((resolve) => {
      this.queue.push({
        batch,
        // The writer marks a refused append -1, which is APPEND_CONFLICT.
        committed: (outcome, at) => resolve({ firstRevisions: outcome.firstRevisions.slice(at, at + n), failures: new Map() }),
        failed: (error) => resolve(failedBatch(n, error)),
      });
      // The caller gathered this batch already: when the writer is idle it goes now (with any
      // appends queued before it), not a turn of the event loop later, behind that turn's frames.
      // Otherwise the batch in flight sends it when it ends.
      if (this.inFlight === undefined) this.flush();
    });
  }

  /** Why an append cannot be taken now, if it cannot. */
  private refusal(): Error | undefined {
    if (this.closing !== undefined) return createError('STORE_UNAVAILABLE', 'the log is closed');
    if (this.writer === undefined) return createError('STORE_UNAVAILABLE', 'the log is open read-only');
    return undefined;
  }

  private enqueue(request: Request): void {
    this.queue.push(request);
    this.scheduleFlush();
  }

  /** Flushes at the end of this turn of the event loop, unless a batch is in flight (its end will). */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight !== undefined) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sends everything queued to the writer as one batch; what queues meanwhile goes in the next. */
  private flush(): void {
    if (this.inFlight !== undefined || this.queue.length === 0) return;
    const requests = this.queue;
    this.queue = [];
    let batch: WriterBatch;
    try {
      batch = this.pack(requests);
    } catch (defect) {
      // A bug in packing: answer every request rather than lose it.
      const error = defect instanceof Error ? defect : new Error(String(defect));
      for (const request of requests) request.failed(error);
      return;
    }
    this.inFlight = this.writer!.commit(batch).then(
      (outcome) => this.committed(requests, outcome),
      (error: unknown) => this.failed(requests, error),
    ).catch((defect: unknown) => {
      // A bug in taking the outcome in: still answer every request (settled ones stay as they are).
      const error = defect instanceof Error ? defect : new Error(String(defect));
      for (const request of requests) request.failed(error);
    }).finally(() => {
      this.inFlight = undefined;
      if (this.queue.length > 0) this.scheduleFlush();
    });
  }

  /** The requests' columns, concatenated into the writer's transferable arrays, names as known ids. */
  private pack(requests: Request[]): WriterBatch {
    let n = 0;
    let total = 0;
    for (const { batch } of requests) {
      n += batch.streams.length;
      total += batch.events.length;
    }
    const ids = new Int32Array(n);
    const names: string[] = [];
    const expected = new Float64Array(n);
    const counts = new Int32Array(n);
    const events = new Float64Array(total);
    let at = 0;
    let offset = 0;
    for (const { batch } of requests) {
      const streams = batch.streams;
      for (let i = 0; i < streams.length; i++) {
        const id = this.ids.get(streams[i]!);
        if (id === undefined) names.push(streams[i]!);
        else ids[at + i] = id;
      }
      expected.set(batch.expected, at);
      counts.set(batch.counts, at);
      events.set(batch.events, offset);
      at += streams.length;
      offset += batch.events.length;
    }
    return { ids, names, expected, counts, events };
  }

  observeCommits(listener: CommitListener): void {
    this.commitListener = listener;
  }

  private committed(requests: Request[], outcome: WriterOutcome): void {
    this.commitFailed = false;
    this.commitListener?.(outcome.firstRevisions.length, outcome.seconds);
    for (const [name, id] of outcome.created) this.remember(name, id);
    // Each request's stored appends as columns over its own events (an appendMany is one request).
    const committed: ChunkColumns[] = [];
    let at = 0;
    for (const { batch } of requests) {
      const { streams, counts, events } = batch;
      const n = streams.length;
      const columns = {
        count: 0,
        streams: new Array<string>(n),
        firstRevisions: new Float64Array(n),
        positions: new Float64Array(n),
        eventStarts: new Int32Array(n),
        counts: new Int32Array(n),
        events,
      };
      let offset = 0;
      for (let i = 0; i < n; i++, at++) {
        const first = outcome.firstRevisions[at]!;
        if (first >= 0) {
          const c = columns.count++;
          columns.streams[c] = streams[i]!;
          columns.firstRevisions[c] = first;
          columns.positions[c] = outcome.positions[at]!;
          columns.eventStarts[c] = offset;
          columns.counts[c] = counts[i]!;
        }
        offset += counts[i]!;
      }
      if (columns.count > 0) committed.push(columns);
    }
    // Readers see a commit before its writers are answered: an acknowledged event is readable.
    for (const columns of committed) this.hub.committed(columns);
    at = 0;
    for (const request of requests) {
      request.committed(outcome, at);
      at += request.batch.streams.length;
    }
  }

  private failed(requests: Request[], error: unknown): void {
    this.commitFailed = true;
    const failure = createError('STORE_UNAVAILABLE', error instanceof Error ? error.message : String(error));
    failure.cause = error;
    for (const request of requests) request.failed(failure);
  }

  async readStream(stream: string, fromRevision: bigint, maxCount: number): Promise<RecordedChunk | null> {
    const id = this.idOf(stream);
    if (id === undefined || maxCount <= 0) return null;
    return this.snapshot(() => this.readStreamSync(id, stream, Number(fromRevision), maxCount));
  }

  private readStreamSync(id: number, stream: string, from: number, maxCount: number): RecordedChunk | null {
    const head = this.headOf(id);
    if (head === undefined || from >= head.next) return null;
    const end = Math.min(head.next, from + maxCount);
    const parts: Float64Array[] = [];
    let total = 0;
    let position = 0;
    // The stream's rows hold [0, merged_rev): grouped rows below indexed_rev, the chain above.
    const rowsEnd = Math.min(end, head.merged_rev);
    const indexedEnd = Math.min(rowsEnd, head.indexed_rev);
    if (from < indexedEnd) {
      for (const row of this.sql.windowRows.iterate({ stream: id, lo: from, hi: indexedEnd })) {
        if (row.first_rev !== from + total) throw new Error(`stream ${stream}: a row read at revision ${row.first_rev}, expected ${from + total}`);
        parts.push(fromBlob(row.events));
        total += row.count;
        position = row.position;
      }
    }
    if (rowsEnd > head.indexed_rev && from + total < rowsEnd) {
      const tailFrom = from + total;
      for (const row of this.tailFrom(id, tailFrom)) {
        const skip = Math.max(0, tailFrom - row.first_rev);
        const take = Math.min(row.count - skip, rowsEnd - (from + total));
        if (take <= 0) break;
        parts.push(fromBlob(row.events).subarray(skip * EVENT_STRIDE, (skip + take) * EVENT_STRIDE));
        total += take;
        position = row.position;
      }
    }
    // The rest, [merged_rev, next), is in the commits not yet merged.
    if (end > head.merged_rev) {
      const commitsFrom = from + total;
      for (const part of head.parts) {
        if (part.first + part.count <= commitsFrom) continue;
        const skip = Math.max(0, commitsFrom - part.first);
        const take = Math.min(part.count - skip, end - (from + total));
        if (take <= 0) break;
        parts.push(this.unmerged.events(part, skip, take));
        total += take;
        position = part.position;
      }
    }
    if (from + total !== end) throw new Error(`stream ${stream}: read revisions ${from} to ${from + total}, expected to ${end}`);
    return { position: BigInt(position), stream, firstRevision: BigInt(from), events: concatEvents(parts, total) };
  }

  /**
   * The stream's head in the snapshot being read: where its rows and groups reach, its appends in
   * the commits not yet merged, and so its next revision (schema.ts: no column holds it).
   */
  private headOf(id: number): StreamHeadState | undefined {
    const row = this.sql.head.get(id);
    if (row === undefined) return undefined;
    const parts = this.unmerged.partsOf(id, row.merged_rev);
    const last = parts.at(-1);
    return { ...row, parts, next: last === undefined ? row.merged_rev : last.first + last.count };
  }

  /** The stream's unindexed rows that hold revision `from` or later, oldest first. */
  private tailFrom(id: number, from: number): TailRow[] {
    return this.sql.tail.all({ stream: id, from }).reverse();
  }

  async scanStream(stream: string, visit: (events: Float64Array) => void): Promise<number> {
    const id = this.idOf(stream);
    if (id === undefined) return 0;
    return this.snapshot(() => {
      const head = this.headOf(id);
      if (head === undefined) return 0;
      let count = 0;
      // One aligned copy per window of groups: no per-row typed array or chunk object.
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
      for (const part of head.parts) {
        const skip = Math.max(0, head.merged_rev - part.first);
        visit(this.unmerged.events(part, skip, part.count - skip));
        count += part.count - skip;
      }
      if (count !== head.next) throw new Error(`stream ${stream}: scanned ${count} events, its head is at ${head.next}`);
      return count;
    });
  }

  /** Runs several reads against one snapshot of the database, so the head and the rows agree. */
  private snapshot<T>(read: () => T): T {
    return this.readTransaction(read) as T;
  }

  async readAll(after: LogPosition, maxEvents: number): Promise<RecordedChunk[]> {
    return this.readAfterSync(Number(after), maxEvents);
  }

  /** Chunks after `after` in log order, up to about `maxEvents` events: the rows from before format 4, then the commits. */
  private readAfterSync(after: number, maxEvents: number): RecordedChunk[] {
    return this.snapshot(() => {
      const chunks: RecordedChunk[] = [];
      let total = 0;
      const legacyEnd = this.sql.legacyEnd.get()!;
      if (after < legacyEnd) {
        for (const row of this.sql.legacyAfter.iterate(after, legacyEnd)) {
          chunks.push(this.toChunk(row));
          total += row.count;
          if (total >= maxEvents) return chunks;
        }
      }
      // Merged commits keep only their directory: their appends are read back from the streams'
      // rows, each stream's share of the page in one read (see fromRows).
      const merged: Array<{ chunk: number; id: number; first: number; count: number }> = [];
      for (const commit of this.sql.commitsFrom.iterate({ after })) {
        const directory = readDirectory(commit.directory);
        const events = commit.events === null ? undefined : fromBlob(commit.events);
        let at = 0;
        for (let k = 0; k < directory.length; k++) {
          const [id, first, count] = directory[k]!;
          const position = commit.position + k;
          if (position > after) {
            const stream = this.nameOf(id);
            if (events === undefined) merged.push({ chunk: chunks.length, id, first, count });
            const own = events?.subarray(at * EVENT_STRIDE, (at + count) * EVENT_STRIDE) ?? EMPTY;
            chunks.push({ position: BigInt(position), stream, firstRevision: BigInt(first), events: own });
            total += count;
          }
          at += count;
        }
        if (total >= maxEvents) break;
      }
      if (merged.length > 0) this.fromRows(chunks, merged);
      return chunks;
    });
  }

  /**
   * Fills in the events of chunks from merged commits, from the streams' rows: a stream's appends
   * in consecutive commits are consecutive revisions, so its share of a page is one read.
   */
  private fromRows(chunks: RecordedChunk[], merged: Array<{ chunk: number; id: number; first: number; count: number }>): void {
    const spans = new Map<number, { first: number; end: number }>();
    for (const { id, first, count } of merged) {
      const span = spans.get(id);
      if (span === undefined) {
        spans.set(id, { first, end: first + count });
      } else {
        if (first !== span.end) throw new Error(`stream ${this.nameOf(id)}: the log has revision ${first} after ${span.end - 1}`);
        span.end = first + count;
      }
    }
    const read = new Map<number, Float64Array>();
    for (const [id, span] of spans) {
      read.set(id, this.readStreamSync(id, this.nameOf(id), span.first, span.end - span.first)!.events);
    }
    for (const { chunk, id, first, count } of merged) {
      const from = (first - spans.get(id)!.first) * EVENT_STRIDE;
      chunks[chunk] = { ...chunks[chunk]!, events: read.get(id)!.subarray(from, from + count * EVENT_STRIDE) };
    }
  }

  async head(stream: string): Promise<StreamHead | null> {
    const id = this.idOf(stream);
    if (id === undefined) return null;
    return this.snapshot(() => {
      const head = this.headOf(id);
      if (head === undefined || head.next === 0) return null;
      const part = head.parts.at(-1);
      const last = part === undefined ? fromBlob(this.sql.lastEvent.get(head.last_position!)!) : this.unmerged.events(part, part.count - 1, 1);
      return { revision: BigInt(head.next - 1), x: last[0]!, y: last[1]!, timestamp: last[2]! };
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
    return this.sql.lastPosition.get() ?? Number(LOG_START);
  }

  subscribe(after: LogPosition, handler: SubscriptionHandler): Subscription {
    return this.hub.subscribe(after, handler);
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** Commits what was appended before close(), lets the writer index and close, then closes reads. */
  private async shutDown(): Promise<void> {
    while (this.inFlight !== undefined || this.queue.length > 0) {
      this.flush();
      await this.inFlight;
    }
    try {
      await this.writer?.close();
    } catch {
      // The writer thread is gone: everything it committed is durable, nothing else was answered OK.
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
