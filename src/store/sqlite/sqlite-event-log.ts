// The embedded event log: EventLog on better-sqlite3, with group commit.
//
// Appends made during one turn of the event loop are committed together in one IMMEDIATE
// transaction and one fsync. Each append's expected revision is checked inside that transaction,
// so a concurrent writer — another process on the same data dir — can never interleave with it;
// a mismatch fails only that append, with our conflict error, and the others commit.

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
import { prepareStatements, type ChunkRow, type Statements } from './statements.js';
import { SubscriptionHub } from './subscriptions.js';

/**
 * Most events in one row. A point read (an events page, a history lookup) decodes whole rows, so a
 * large append is split: reading 100 events never copies more than this many.
 */
const MAX_ROW_EVENTS = 1024;

/** Revisions per rebuild-scan window: bounds the blob one read materialises (24 B per event). */
const SCAN_WINDOW = 65_536;

export interface SqliteEventLogOptions {
  readonly dataDir: string;
  readonly readonly?: boolean;
  /** How often live subscriptions look for commits by other processes; 0 turns polling off. */
  readonly pollIntervalMs?: number;
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
  private commitFailed = false;
  private readonly commitBatch: (batch: PendingAppend[], created: Array<[string, number]>) => RecordedChunk[];

  constructor(options: SqliteEventLogOptions) {
    this.db = openLogDatabase(options.dataDir, { readonly: options.readonly ?? false });
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
      return chunks;
    }).immediate;
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

  /** Checks the expected revision and inserts the events as rows of at most MAX_ROW_EVENTS. */
  private appendInTransaction(pending: PendingAppend, created: Array<[string, number]>, chunks: RecordedChunk[]): void {
    const { stream, events, expected } = pending;
    let id = this.ids.get(stream) ?? this.sql.streamId.get(stream)?.id;
    const headRevision = () => (id === undefined ? undefined : this.sql.headRevision.get(id)?.rev);
    const conflict = () => {
      pending.outcome = revisionConflict(stream, expected, headRevision() ?? 'no_stream');
    };
    // The revision the first row must have. No head lookup for the usual cases: the insert itself is
    // the check (the contiguity trigger and the UNIQUE key refuse a row that does not follow the head).
    let firstRevision: number;
    if (expected === 'any') {
      const actual = headRevision();
      firstRevision = actual === undefined ? 0 : actual + 1;
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
    for (let offset = 0; offset < count; offset += MAX_ROW_EVENTS) {
      const rowEvents = events.subarray(offset * EVENT_STRIDE, Math.min(count, offset + MAX_ROW_EVENTS) * EVENT_STRIDE);
      const rowRevision = firstRevision + offset;
      try {
        position = Number(this.sql.insertChunk.run(id, rowRevision, rowEvents.length / EVENT_STRIDE, toBlob(rowEvents)).lastInsertRowid);
      } catch (error) {
        // Only the first row can collide: the rest follow rows this append has just written.
        if (offset === 0 && isConflict(error)) return conflict();
        throw error;
      }
      chunks.push({ position: BigInt(position), stream, firstRevision: BigInt(rowRevision), events: rowEvents });
    }
    pending.outcome = {
      nextExpectedRevision: BigInt(firstRevision + count - 1),
      position: BigInt(position),
    };
  }

  async readStream(stream: string, fromRevision: bigint, maxCount: number): Promise<RecordedChunk | null> {
    const from = Number(fromRevision);
    const id = this.idOf(stream);
    if (id === undefined || maxCount <= 0) return null;
    const parts: Float64Array[] = [];
    let total = 0;
    let position = 0;
    const first = this.sql.chunkAt.get({ stream: id, rev: from, take: maxCount });
    if (first !== undefined && from - first.first_rev < first.count) {
      // The row's blob was cut to the requested events by the query.
      const events = fromBlob(first.events);
      parts.push(events);
      total += events.length / EVENT_STRIDE;
      position = first.position;
    }
    // Every chunk holds at least one event, so the rest needs at most that many rows.
    if (total < maxCount) {
      for (const row of this.sql.chunksAfter.all(id, first?.first_rev ?? -1, maxCount - total)) {
        const take = Math.min(row.count, maxCount - total);
        const events = fromBlob(row.events);
        parts.push(take === row.count ? events : events.subarray(0, take * EVENT_STRIDE));
        total += take;
        position = row.position;
        if (total === maxCount) break;
      }
    }
    if (total === 0) return null;
    return { position: BigInt(position), stream, firstRevision: BigInt(from), events: concat(parts, total) };
  }

  async scanStream(stream: string, visit: (events: Float64Array) => void): Promise<number> {
    const id = this.idOf(stream);
    if (id === undefined) return 0;
    const head = this.sql.headRevision.get(id)?.rev ?? -1;
    let count = 0;
    // One aligned copy per window of up to SCAN_WINDOW events: no per-row typed array or chunk object.
    for (let lo = 0; lo <= head; lo += SCAN_WINDOW) {
      const blob = this.sql.windowBlob.get(id, lo, lo + SCAN_WINDOW);
      if (blob === null || blob === undefined) continue;
      const events = fromBlob(blob);
      visit(events);
      count += events.length / EVENT_STRIDE;
    }
    return count;
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
    const row = this.sql.headEvent.get(id);
    if (row === undefined) return null;
    const last = fromBlob(row.last);
    return { revision: BigInt(row.rev), x: last[0]!, y: last[1]!, timestamp: last[2]! };
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

/** A refused insert: another writer's row at this revision (UNIQUE) or not following the head (trigger). */
function isConflict(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || (code === 'SQLITE_CONSTRAINT_TRIGGER' && /revision conflict/.test(String((error as Error).message)));
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
