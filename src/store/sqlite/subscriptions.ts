// Catch-up-then-live subscriptions over the embedded log.
//
// A subscription first pages through everything after its start position, yielding to the event
// loop between pages, then goes live. Live delivery takes this process's commits straight from
// the committer when they directly follow what the subscriber has seen, and reads from the
// database otherwise: positions are contiguous, so any gap means another process wrote, and a
// poll catches those writes when this process is idle. The committer hands them on as columns, to
// handlers that take columns (the projections), and as chunk objects, made once, to the others.

import { columnsToChunks, type ChunkColumns, type LogPosition, type RecordedChunk, type Subscription, type SubscriptionHandler } from '../event-log.js';

const PAGE_EVENTS = 65_536;

export interface ChunkSource {
  /** Chunks after `after`, at most about `maxEvents` events, synchronously. */
  readAfter(after: number, maxEvents: number): RecordedChunk[];
  lastPosition(): number;
}

class SqliteSubscription implements Subscription {
  position: number;
  live = false;
  closed = false;

  constructor(
    after: number,
    readonly handler: SubscriptionHandler,
    private readonly owner: SubscriptionHub,
  ) {
    this.position = after;
  }

  deliver(chunks: RecordedChunk[]): void {
    // A handler may close its own subscription (or the log) while a multi-page read is under way.
    if (chunks.length === 0 || this.closed) return;
    this.position = Number(chunks[chunks.length - 1]!.position);
    this.handler.onChunks(chunks);
  }

  /** Live chunks of this process's commit, as columns when the handler takes them. */
  deliverCommitted(columns: ChunkColumns, chunks: () => RecordedChunk[]): void {
    if (columns.count === 0 || this.closed) return;
    this.position = columns.positions[columns.count - 1]!;
    if (this.handler.onColumns !== undefined) this.handler.onColumns(columns);
    else this.handler.onChunks(chunks());
  }

  async close(): Promise<void> {
    this.closed = true;
    this.owner.remove(this);
  }
}

export class SubscriptionHub {
  private readonly subscriptions = new Set<SqliteSubscription>();
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: ChunkSource,
    private readonly pollIntervalMs: number,
  ) {}

  subscribe(after: LogPosition, handler: SubscriptionHandler): Subscription {
    const subscription = new SqliteSubscription(Number(after), handler, this);
    this.subscriptions.add(subscription);
    setImmediate(() => this.catchUp(subscription));
    return subscription;
  }

  remove(subscription: SqliteSubscription): void {
    this.subscriptions.delete(subscription);
    if (this.subscriptions.size === 0) this.stopPolling();
  }

  /** This process committed `columns` (contiguous positions, in order). */
  committed(columns: ChunkColumns): void {
    if (columns.count === 0) return;
    const first = columns.positions[0]!;
    let chunks: RecordedChunk[] | undefined;
    const asChunks = (): RecordedChunk[] => (chunks ??= columnsToChunks(columns));
    for (const subscription of this.subscriptions) {
      if (!subscription.live) continue;
      if (subscription.position === first - 1) this.guard(subscription, () => subscription.deliverCommitted(columns, asChunks));
      else this.pull(subscription);
    }
  }

  closeAll(): void {
    for (const subscription of this.subscriptions) subscription.closed = true;
    this.subscriptions.clear();
    this.stopPolling();
  }

  private catchUp(subscription: SqliteSubscription): void {
    if (subscription.closed) return;
    const more = this.guard(subscription, () => {
      const page = this.source.readAfter(subscription.position, PAGE_EVENTS);
      subscription.deliver(page);
      return page.length > 0;
    });
    if (subscription.closed) return;
    if (more) {
      setImmediate(() => this.catchUp(subscription));
      return;
    }
    subscription.live = true;
    this.startPolling();
    subscription.handler.onCaughtUp?.(BigInt(subscription.position));
  }

  private pull(subscription: SqliteSubscription): void {
    this.guard(subscription, () => {
      while (!subscription.closed) {
        const page = this.source.readAfter(subscription.position, PAGE_EVENTS);
        if (page.length === 0) return;
        subscription.deliver(page);
      }
    });
  }

  private poll(): void {
    let last: number;
    try {
      last = this.source.lastPosition();
    } catch {
      return; // a transient read failure; the next poll tries again
    }
    for (const subscription of this.subscriptions) {
      if (subscription.live && subscription.position < last) this.pull(subscription);
    }
  }

  private guard<T>(subscription: SqliteSubscription, work: () => T): T | undefined {
    try {
      return work();
    } catch (error) {
      subscription.closed = true;
      this.remove(subscription);
      subscription.handler.onError?.(error);
      return undefined;
    }
  }

  private startPolling(): void {
    if (this.pollTimer !== undefined || this.pollIntervalMs <= 0) return;
    this.pollTimer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }
}
