// Keeps the read models in step with the log: a subscription from the projections' position,
// catch-up first, then live. Projections never advance from what ingest merely received.

import type { Logger } from 'pino';
import type { EventLog, LogPosition, Subscription } from '../store/event-log.js';
import type { Projections } from './projections.js';

const RESUBSCRIBE_DELAY_MS = 1000;

export class LogFollower {
  private subscription: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private caughtUpOnce = false;
  private readonly caughtUp: Promise<void>;
  private markCaughtUp!: () => void;
  private waiters: Array<{ position: LogPosition; resolve: () => void }> = [];

  constructor(
    private readonly log: EventLog,
    private readonly projections: Projections,
    private readonly logger: Logger,
    /**
     * Called after each batch of chunks is applied, with the first `count` entries of `streams`
     * naming their robots (the checkpointer counts events here; the live feed learns which robots
     * moved). Valid only during the call.
     */
    private readonly onApplied: (streams: readonly string[], count: number) => void = () => undefined,
  ) {
    this.caughtUp = new Promise((resolve) => (this.markCaughtUp = resolve));
  }

  /** Starts following; resolves once everything committed before now is reflected. */
  start(): Promise<void> {
    this.subscribe();
    return this.caughtUp;
  }

  get isCaughtUp(): boolean {
    return this.caughtUpOnce;
  }

  /** Resolves once the projections reflect everything up to `position`. */
  reached(position: LogPosition): Promise<void> {
    if (this.projections.position >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.subscription?.close();
  }

  private wakeWaiters(): void {
    const position = this.projections.position;
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (position >= waiter.position) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  private subscribe(): void {
    if (this.stopped) return;
    this.subscription = this.log.subscribe(this.projections.position, {
      onChunks: (chunks) => {
        this.projections.apply(chunks);
        if (this.waiters.length > 0) this.wakeWaiters();
        this.onApplied(chunks.map((chunk) => chunk.stream), chunks.length);
      },
      onColumns: (columns) => {
        this.projections.applyColumns(columns);
        if (this.waiters.length > 0) this.wakeWaiters();
        this.onApplied(columns.streams, columns.count);
      },
      onCaughtUp: (position) => {
        this.logger.info({ position: position.toString() }, 'projections caught up with the log');
        this.caughtUpOnce = true;
        this.markCaughtUp();
      },
      onError: (error) => {
        this.logger.error({ err: error }, 'log subscription failed; resubscribing from the last applied position');
        this.retryTimer = setTimeout(() => this.subscribe(), RESUBSCRIBE_DELAY_MS);
        this.retryTimer.unref();
      },
    });
  }
}
