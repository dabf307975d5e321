// An EventLog decorator that measures appends at the port, so both adapters are measured the same
// way and neither knows about metrics. Everything else is delegated untouched.

import { EVENT_STRIDE } from '../domain/location.js';
import { ERRORS } from '../domain/errors.js';
import { APPEND_CONFLICT, APPEND_FAILED, type AppendBatch, type BatchResult } from '../store/event-log.js';
import type {
  AppendResult,
  EventLog,
  ExpectedRevision,
  LogPosition,
  RecordedChunk,
  StreamHead,
  Subscription,
  SubscriptionHandler,
} from '../store/event-log.js';
import type { AppendMetrics } from './append-metrics.js';

export class MeteredEventLog implements EventLog {
  /** Present only when the wrapped log has it: the rebuild picks its fast path by its presence. */
  readonly scanStream?: (stream: string, visit: (events: Float64Array) => void) => Promise<number>;

  constructor(
    private readonly inner: EventLog,
    private readonly metrics: AppendMetrics,
  ) {
    const scan = inner.scanStream;
    if (scan !== undefined) this.scanStream = (stream, visit) => scan.call(inner, stream, visit);
    inner.observeCommits?.((appends, seconds) => metrics.groupCommitted(appends, seconds));
  }

  get available(): boolean {
    return this.inner.available;
  }

  async append(stream: string, events: Float64Array, expected: ExpectedRevision): Promise<AppendResult> {
    const started = performance.now();
    let result: AppendResult;
    try {
      result = await this.inner.append(stream, events, expected);
    } catch (error) {
      this.metrics.failed(error);
      throw error;
    }
    this.metrics.committed(events.length / EVENT_STRIDE, (performance.now() - started) / 1000);
    return result;
  }

  async appendMany(batch: AppendBatch): Promise<BatchResult> {
    const started = performance.now();
    const result = await this.inner.appendMany(batch);
    const seconds = (performance.now() - started) / 1000;
    const { firstRevisions, failures } = result;
    for (let i = 0; i < firstRevisions.length; i++) {
      const first = firstRevisions[i]!;
      if (first >= 0) this.metrics.committed(batch.counts[i]!, seconds);
      else if (first === APPEND_FAILED) this.metrics.failed(failures.get(i));
      else if (first === APPEND_CONFLICT) this.metrics.refused(ERRORS.REVISION_CONFLICT.code);
    }
    return result;
  }

  readStream(stream: string, from: bigint, maxCount: number): Promise<RecordedChunk | null> {
    return this.inner.readStream(stream, from, maxCount);
  }

  readAll(after: LogPosition, maxEvents: number): Promise<RecordedChunk[]> {
    return this.inner.readAll(after, maxEvents);
  }

  head(stream: string): Promise<StreamHead | null> {
    return this.inner.head(stream);
  }

  listStreams(): Promise<string[]> {
    return this.inner.listStreams();
  }

  identity(): Promise<string> {
    return this.inner.identity();
  }

  lastPosition(): Promise<LogPosition> {
    return this.inner.lastPosition();
  }

  subscribe(after: LogPosition, handler: SubscriptionHandler): Subscription {
    return this.inner.subscribe(after, handler);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
