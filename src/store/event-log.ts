// The EventLog port: an append-only log of robot streams with optimistic concurrency.
// Adapters (sqlite/, eventstoredb/) implement it and are run through test/contract/event-log.contract.ts.
//
// A stream is one robot's history, named by the robot's name; each adapter maps names to its own
// stream naming. Events travel as packed Float64Array blocks of (x, y, timestamp) triples.

import { createError, type TelemetryError } from '../domain/errors.js';

/** What the writer believes the stream head is. Revisions count events from 0. */
export type ExpectedRevision = bigint | 'no_stream' | 'any';

/** The error every adapter raises when `expected` is not the stream's head (`actual`). */
export function revisionConflict(stream: string, expected: ExpectedRevision, actual: bigint | number | 'no_stream'): TelemetryError {
  const wanted = typeof expected === 'bigint' ? expected.toString() : expected;
  return createError('REVISION_CONFLICT', stream, wanted, actual === 'no_stream' ? 'no stream' : actual);
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

export interface SubscriptionHandler {
  /** Called with chunks in log order. Chunks must not be kept beyond the call without copying. */
  onChunks(chunks: readonly RecordedChunk[]): void;
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
