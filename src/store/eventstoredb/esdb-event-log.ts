// EventLog on EventStoreDB (KurrentDB): one stream per robot, one `LocationRecorded` event per
// location, optimistic concurrency through the client's expected revision. Positions are exact
// $all positions, (commit, prepare) packed into one ordered bigint (positions.ts). The read side follows $all through a server-filtered subscription, so every
// instance sharing one EventStoreDB (or cluster) sees every instance's writes.

import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  ANY,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
  streamNameFilter,
  type AppendExpectedRevision,
  type AllStreamResolvedEvent,
  type JSONEventData,
  type JSONEventType,
  type Position,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { createError } from '../../domain/errors.js';
import { EVENT_STRIDE } from '../../domain/location.js';
import {
  appendEach,
  LOG_START,
  revisionConflict,
  type AppendBatch,
  type AppendResult,
  type BatchResult,
  type EventLog,
  type ExpectedRevision,
  type LogPosition,
  type RecordedChunk,
  type StreamHead,
  type Subscription,
  type SubscriptionHandler,
} from '../event-log.js';
import { locationEventId } from './event-id.js';
import { fromLogPosition, toLogPosition } from './positions.js';
import { StreamNames } from './stream-names.js';

export const EVENT_TYPE = 'LocationRecorded';

// A type alias, not an interface: the client's JSONType needs an index-signature-compatible type.
type LocationData = { x: number; y: number; timestamp: number };
type LocationRecorded = JSONEventType<typeof EVENT_TYPE, LocationData>;

export interface EsdbEventLogOptions {
  readonly connectionString: string;
  /** gRPC deadline of every call: a store that does not answer fails the call within this. */
  readonly deadlineMs: number;
  /** While the store is unreachable, how often to probe it (0: never). */
  readonly probeIntervalMs?: number;
  /** Stream-name prefix of robot streams (default `robot-`). */
  readonly streamPrefix?: string;
}

const BACKWARD_PAGE = 256;

export class EsdbEventLog implements EventLog {
  private readonly client: EventStoreDBClient;
  private readonly names: StreamNames;
  private readonly connectionString: string;
  private readonly deadline: number;
  private readonly probeIntervalMs: number;
  private probeTimer: NodeJS.Timeout | undefined;
  private up = true;
  private closed = false;

  constructor(options: EsdbEventLogOptions) {
    this.client = EventStoreDBClient.connectionString(options.connectionString);
    this.deadline = options.deadlineMs;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.names = new StreamNames(options.streamPrefix);
    this.connectionString = options.connectionString;
  }

  get available(): boolean {
    return this.up;
  }

  async append(stream: string, events: Float64Array, expected: ExpectedRevision): Promise<AppendResult> {
    if (events.length === 0 || events.length % EVENT_STRIDE !== 0) {
      throw new RangeError('append needs at least one whole (x, y, timestamp) event');
    }
    const proposed: JSONEventData<LocationRecorded>[] = [];
    for (let i = 0; i < events.length; i += EVENT_STRIDE) {
      const timestamp = events[i + 2]!;
      proposed.push(
        jsonEvent<LocationRecorded>({
          id: locationEventId(stream, timestamp),
          type: EVENT_TYPE,
          data: { x: events[i]!, y: events[i + 1]!, timestamp },
        }),
      );
    }
    try {
      const result = await this.client.appendToStream(this.names.of(stream), proposed, {
        expectedRevision: toClientRevision(expected),
        deadline: this.deadline,
      });
      this.markUp();
      const position = result.position === undefined ? LOG_START : toLogPosition(result.position);
      return { nextExpectedRevision: result.nextExpectedRevision, position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        this.markUp();
        throw revisionConflict(stream, expected, typeof error.actualVersion === 'bigint' ? error.actualVersion : 'no_stream');
      }
      throw this.unavailable(error);
    }
  }

  /** One request per stream, all at once: EventStoreDB has no transaction across streams. */
  appendMany(batch: AppendBatch): Promise<BatchResult> {
    return appendEach(this, batch);
  }

  async readStream(stream: string, from: bigint, maxCount: number): Promise<RecordedChunk | null> {
    if (maxCount <= 0) return null;
    const events: number[] = [];
    let position = LOG_START;
    try {
      const read = this.client.readStream<LocationRecorded>(this.names.of(stream), {
        fromRevision: from,
        maxCount,
        direction: FORWARDS,
        deadline: this.deadline,
      });
      for await (const resolved of read) {
        const event = resolved.event;
        if (event === undefined) continue;
        events.push(event.data.x, event.data.y, event.data.timestamp);
        if (event.position !== undefined) position = toLogPosition(event.position);
      }
      this.markUp();
    } catch (error) {
      if (error instanceof StreamNotFoundError) {
        this.markUp();
        return null;
      }
      throw this.unavailable(error);
    }
    if (events.length === 0) return null;
    return { position, stream, firstRevision: from, events: Float64Array.from(events) };
  }

  async readAll(after: LogPosition, maxEvents: number): Promise<RecordedChunk[]> {
    const grouper = new ChunkGrouper(after, this.names);
    try {
      const read = this.client.readAll({
        fromPosition: after === LOG_START ? START : fromLogPosition(after),
        // The read is inclusive of `after`; it is read to its end (see head()).
        maxCount: maxEvents + 1,
        direction: FORWARDS,
        deadline: this.deadline,
      });
      for await (const resolved of read) {
        grouper.add(resolved);
      }
      this.markUp();
    } catch (error) {
      throw this.unavailable(error);
    }
    return grouper.take();
  }

  async head(stream: string): Promise<StreamHead | null> {
    try {
      const read = this.client.readStream<LocationRecorded>(this.names.of(stream), {
        fromRevision: END,
        direction: BACKWARDS,
        maxCount: 1,
        deadline: this.deadline,
      });
      // Read to the end (one event) rather than leave the loop early: abandoning the client's
      // stream mid-iteration cancels the call and can leave the await hanging.
      let head: StreamHead | null = null;
      for await (const resolved of read) {
        const event = resolved.event;
        if (event === undefined) continue;
        head = { revision: event.revision, x: event.data.x, y: event.data.y, timestamp: event.data.timestamp };
      }
      this.markUp();
      return head;
    } catch (error) {
      if (error instanceof StreamNotFoundError) {
        this.markUp();
        return null;
      }
      throw this.unavailable(error);
    }
  }

  /** Every robot stream, from a filtered $all subscription up to the point it catches up. */
  async listStreams(): Promise<string[]> {
    const names = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const subscription = this.subscribe(LOG_START, {
        onChunks: (chunks) => {
          for (const chunk of chunks) names.add(chunk.stream);
        },
        onCaughtUp: () => void subscription.close().then(resolve, reject),
        onError: reject,
      });
    });
    return [...names];
  }

  /** The cluster's hosts (sorted) and the stream prefix: what makes two connections the same log. */
  async identity(): Promise<string> {
    const hosts = /^esdb(?:\+discover)?:\/\/(?:[^@/]*@)?([^/?#]+)/.exec(this.connectionString)?.[1] ?? this.connectionString;
    return `eventstoredb:${hosts.split(',').sort().join(',')}/${this.names.prefix}`;
  }

  /** Position of the last robot event: $all is read backwards past system and foreign events. */
  async lastPosition(): Promise<LogPosition> {
    try {
      let from: Position | typeof END = END;
      for (;;) {
        const read = this.client.readAll({ fromPosition: from, direction: BACKWARDS, maxCount: BACKWARD_PAGE, deadline: this.deadline });
        let seen = 0;
        let found: LogPosition | null = null;
        for await (const resolved of read) {
          seen++;
          const event = resolved.event;
          if (event === undefined) continue;
          if (found === null && event.type === EVENT_TYPE && this.names.robotOf(event.streamId) !== null) {
            found = toLogPosition(event.position);
          }
          from = event.position;
        }
        if (found !== null) {
          this.markUp();
          return found;
        }
        if (seen < BACKWARD_PAGE) break;
      }
      this.markUp();
      return LOG_START;
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  subscribe(after: LogPosition, handler: SubscriptionHandler): Subscription {
    const grouper = new ChunkGrouper(after, this.names);
    let flushScheduled = false;
    let ended = false;
    const flush = () => {
      flushScheduled = false;
      if (ended) return;
      const chunks = grouper.take();
      if (chunks.length > 0) handler.onChunks(chunks);
    };
    const subscription = this.client.subscribeToAll({
      fromPosition: after === LOG_START ? START : fromLogPosition(after),
      filter: streamNameFilter({ prefixes: [this.names.prefix] }),
    });
    subscription.on('confirmation', () => this.markUp());
    subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      grouper.add(resolved);
      // Deliver in batches: everything that arrived in one turn of the event loop.
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
    subscription.on('caughtUp', () => {
      flush();
      if (!ended) handler.onCaughtUp?.(grouper.position);
    });
    subscription.on('error', (error: unknown) => {
      if (ended) return;
      flush();
      ended = true;
      handler.onError?.(this.unavailable(error));
    });
    return {
      close: async () => {
        ended = true;
        await subscription.unsubscribe();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probeTimer);
    await this.client.dispose();
  }

  private markUp(): void {
    this.up = true;
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** Records that the store did not answer, starts probing for its return, and wraps the error. */
  private unavailable(error: unknown): Error {
    this.up = false;
    if (this.probeTimer === undefined && this.probeIntervalMs > 0 && !this.closed) {
      this.probeTimer = setInterval(() => void this.lastPosition().catch(() => undefined), this.probeIntervalMs);
      this.probeTimer.unref();
    }
    const failure = createError('STORE_UNAVAILABLE', error instanceof Error ? error.message : String(error));
    failure.cause = error;
    return failure;
  }
}

/** Groups consecutive events of one robot stream into chunks, skipping anything at or before `after`. */
class ChunkGrouper {
  private chunks: RecordedChunk[] = [];
  private stream: string | null = null;
  private firstRevision = 0n;
  private values: number[] = [];
  private last = LOG_START;
  events = 0;

  constructor(
    private readonly after: LogPosition,
    private readonly names: StreamNames,
  ) {
    this.last = after;
  }

  get position(): LogPosition {
    return this.last;
  }

  add(resolved: AllStreamResolvedEvent | ResolvedEvent): void {
    const event = resolved.event;
    if (event === undefined || event.type !== EVENT_TYPE) return;
    if (event.position === undefined) return;
    const position = toLogPosition(event.position);
    if (position <= this.after) return;
    const robot = this.names.robotOf(event.streamId);
    if (robot === null) return;
    const data = event.data as LocationData;
    const expectedNext = this.firstRevision + BigInt(this.values.length / EVENT_STRIDE);
    if (robot !== this.stream || event.revision !== expectedNext) {
      this.cut();
      this.stream = robot;
      this.firstRevision = event.revision;
    }
    this.values.push(data.x, data.y, data.timestamp);
    this.last = position;
    this.events++;
  }

  take(): RecordedChunk[] {
    this.cut();
    const chunks = this.chunks;
    this.chunks = [];
    this.events = 0;
    return chunks;
  }

  private cut(): void {
    if (this.stream === null || this.values.length === 0) return;
    this.chunks.push({
      position: this.last,
      stream: this.stream,
      firstRevision: this.firstRevision,
      events: Float64Array.from(this.values),
    });
    this.values = [];
    this.stream = null;
  }
}

function toClientRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'any') return ANY;
  return expected;
}
