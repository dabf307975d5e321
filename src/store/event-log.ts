// The EventLog port: an append-only log of robot streams with optimistic concurrency.
// Adapters (sqlite/, eventstoredb/) implement it and are run through test/contract/event-log.contract.ts.
//
// A stream is one robot's history, named by the robot's name; each adapter maps names to its own
// stream naming. Events travel as packed Float64Array blocks of (x, y, timestamp) triples.

import { createError, hasCode, type TelemetryError } from '../domain/errors.js';
import { EVENT_STRIDE } from '../domain/location.js';

/** What the writer believes the stream head is. Revisions count events from 0. */
export type ExpectedRevision = bigint | 'no_stream' | 'any';

/** The error every adapter raises when `expected` is not the stream's head (`actual`). */
export function revisionConflict(stream: string, expected: ExpectedRevision, actual: bigint | number | 'no_stream'): TelemetryError {
  const wanted = typeof expected === 'bigint' ? expected.toString() : expected;
  return createError('REVISION_CONFLICT', stream, wanted, actual === 'no_stream' ? 'no stream' : actual);
}

/** An expected revision as a number, for the columns of an AppendBatch: a revision (≥ 0) or one of these. */
export const EXPECT_NO_STREAM = -1;
export const EXPECT_ANY = -2;

/**
 * Appends to many streams in one call, as columns: no object per append. Append i writes
 * `counts[i]` (≥ 1) events — the next ones of `events` — to `streams[i]` if that stream's head is at
 * `expected[i]`. The log may read the columns until the call settles; the caller leaves them alone.
 */
export interface AppendBatch {
  readonly streams: readonly string[];
  readonly expected: Float64Array;
  readonly counts: Int32Array;
  readonly events: Float64Array;
}

/** In BatchResult.firstRevisions: the stream's head was not at the expected revision. */
export const APPEND_CONFLICT = -1;
/** In BatchResult.firstRevisions: the store could not commit the append (its error is in `failures`). */
export const APPEND_FAILED = -2;

/** What became of each append of a batch; each settles on its own. */
export interface BatchResult {
  /** Revision of each append's first event, now durable; APPEND_CONFLICT or APPEND_FAILED where it was not stored. */
  readonly firstRevisions: Float64Array;
  /** The error of each APPEND_FAILED append, by index. */
  readonly failures: ReadonlyMap<number, Error>;
}

/** Position in the whole log. Later commits have larger positions. */
export type LogPosition = bigint;

/** The position before anything: reading all from here reads everything. */
export const LOG_START: LogPosition = 0n;

export interface AppendResult {
  /** Revision of the last event appended: the expected revision for the next append. */
  readonly nextExpectedRevision: bigint;
  /** Log position of the committed events. */
  readonly position: LogPosition;
}

/** A run of consecutive events of one stream, as committed. */
export interface RecordedChunk {
  /** Position of the chunk's last event in the log. */
  readonly position: LogPosition;
  readonly stream: string;
  readonly firstRevision: bigint;
  /** (x, y, timestamp) triples; the view must not be modified. */
  readonly events: Float64Array;
}

export interface StreamHead {
  /** Revision of the last event. */
  readonly revision: bigint;
  readonly x: number;
  readonly y: number;
  readonly timestamp: number;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Committed chunks as columns: chunk i (of `count`) is `counts[i]` events of `streams[i]` from
 * revision `firstRevisions[i]`, the (x, y, timestamp) triples from event `eventStarts[i]` of
 * `events`, ending at log position `positions[i]`. What a log that commits in rounds can hand on
 * without an object, a BigInt and a view per chunk (see SubscriptionHandler.onColumns).
 */
export interface ChunkColumns {
  readonly count: number;
  readonly streams: readonly string[];
  readonly firstRevisions: Float64Array;
  readonly positions: Float64Array;
  readonly eventStarts: Int32Array;
  readonly counts: Int32Array;
  readonly events: Float64Array;
}

/** The columns as chunk objects, for handlers that take only those. */
export function columnsToChunks(columns: ChunkColumns): RecordedChunk[] {
  const chunks = new Array<RecordedChunk>(columns.count);
  for (let i = 0; i < columns.count; i++) {
    const start = columns.eventStarts[i]! * EVENT_STRIDE;
    chunks[i] = {
      position: BigInt(columns.positions[i]!),
      stream: columns.streams[i]!,
      firstRevision: BigInt(columns.firstRevisions[i]!),
      events: columns.events.subarray(start, start + columns.counts[i]! * EVENT_STRIDE),
    };
  }
  return chunks;
}

export interface SubscriptionHandler {
  /** Called with chunks in log order. Chunks must not be kept beyond the call without copying. */
  onChunks(chunks: readonly RecordedChunk[]): void;
  /**
   * Optional: a log that has committed chunks as columns (the embedded log, for its own commits)
   * calls this instead of onChunks, with the same chunks in the same order. Valid only during the
   * call. Handlers without it get chunk objects.
   */
  onColumns?(columns: ChunkColumns): void;
  /** Called once the subscription has delivered everything committed when it started. */
  onCaughtUp?(position: LogPosition): void;
  /** The subscription failed and will not deliver more. */
  onError?(error: unknown): void;
}

/** One group commit of a log that commits appends together: how many, and how long it took. */
export type CommitListener = (appends: number, seconds: number) => void;

export interface EventLog {
  /** False while the store cannot be reached or cannot commit; true again once it answers. */
  readonly available: boolean;

  /**
   * Appends `events` to `stream` if its head is at `expected`. Throws a TELEMETRY_REVISION_CONFLICT
   * error (see domain/errors) when it is not, and TELEMETRY_STORE_UNAVAILABLE when the store cannot
   * commit. Resolves only once the events are durable.
   */
  append(stream: string, events: Float64Array, expected: ExpectedRevision): Promise<AppendResult>;

  /**
   * Many appends at once, each checked against its own expected revision: what `append` does for
   * each, in one call. Never rejects for a store failure or a conflict: those are in the result.
   */
  appendMany(batch: AppendBatch): Promise<BatchResult>;

  /** Up to `maxCount` events of `stream` from revision `from` on, as a chunk (empty when none). */
  readStream(stream: string, from: bigint, maxCount: number): Promise<RecordedChunk | null>;

  /** Chunks committed after `after`, in log order, at most about `maxEvents` events. */
  readAll(after: LogPosition, maxEvents: number): Promise<RecordedChunk[]>;

  /**
   * Optional fast path for full rebuilds: calls `visit` with every stored event of `stream`, in
   * revision order, as packed blocks of any size (valid only during the call). Returns the number
   * of events visited.
   */
  scanStream?(stream: string, visit: (events: Float64Array) => void): Promise<number>;

  /** The stream's last event, or null when it has none. */
  head(stream: string): Promise<StreamHead | null>;

  /** Names of every stream in the log. */
  listStreams(): Promise<string[]>;

  /**
   * A name for this particular log, stable across restarts: a projection checkpoint records it so
   * that a checkpoint is never applied to a different log that happens to share a data dir.
   */
  identity(): Promise<string>;

  /** Position of the last committed event (LOG_START when empty). */
  lastPosition(): Promise<LogPosition>;

  /** Logs that group appends into commits (the embedded log) report each one to `listener`. */
  observeCommits?(listener: CommitListener): void;

  /** Delivers every chunk committed after `after`, then keeps delivering new commits live. */
  subscribe(after: LogPosition, handler: SubscriptionHandler): Subscription;

  close(): Promise<void>;
}

/** The outcome of a batch none of whose `n` appends could be stored, each failed with `error`. */
export function failedBatch(n: number, error: unknown): BatchResult {
  const reason = error instanceof Error ? error : new Error(String(error));
  const failures = new Map<number, Error>();
  for (let i = 0; i < n; i++) failures.set(i, reason);
  return { firstRevisions: new Float64Array(n).fill(APPEND_FAILED), failures };
}

/** `expected` as an AppendBatch column value. */
export function expectedCode(expected: ExpectedRevision): number {
  return expected === 'no_stream' ? EXPECT_NO_STREAM : expected === 'any' ? EXPECT_ANY : Number(expected);
}

/** The ExpectedRevision an AppendBatch column value stands for. */
export function expectedFromCode(code: number): ExpectedRevision {
  return code === EXPECT_NO_STREAM ? 'no_stream' : code === EXPECT_ANY ? 'any' : BigInt(code);
}

/** Throws unless `batch` is whole: a stream, an expected revision and at least one event per append, and no event left over. */
export function checkBatch(batch: AppendBatch): void {
  const n = batch.streams.length;
  if (batch.expected.length !== n || batch.counts.length !== n) throw new RangeError('an append batch needs one expected revision and one count per stream');
  let events = 0;
  for (let i = 0; i < n; i++) {
    const count = batch.counts[i]!;
    if (count < 1) throw new RangeError('every append of a batch needs at least one event');
    events += count;
  }
  if (batch.events.length !== events * EVENT_STRIDE) throw new RangeError('an append batch must hold exactly its counts of (x, y, timestamp) events');
}

/**
 * appendMany for a log whose appends are independent calls (EventStoreDB: one request per stream):
 * every append at once, each settled on its own.
 */
export async function appendEach(log: Pick<EventLog, 'append'>, batch: AppendBatch): Promise<BatchResult> {
  checkBatch(batch);
  const n = batch.streams.length;
  const firstRevisions = new Float64Array(n);
  const failures = new Map<number, Error>();
  const calls = new Array<Promise<void>>(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const count = batch.counts[i]!;
    const events = batch.events.subarray(offset * EVENT_STRIDE, (offset + count) * EVENT_STRIDE);
    offset += count;
    calls[i] = log.append(batch.streams[i]!, events, expectedFromCode(batch.expected[i]!)).then(
      (result) => {
        firstRevisions[i] = Number(result.nextExpectedRevision) - count + 1;
      },
      (error: unknown) => {
        if (hasCode(error, 'REVISION_CONFLICT')) {
          firstRevisions[i] = APPEND_CONFLICT;
        } else {
          firstRevisions[i] = APPEND_FAILED;
          failures.set(i, error instanceof Error ? error : new Error(String(error)));
        }
      },
    );
  }
  await Promise.all(calls);
  return { firstRevisions, failures };
}
