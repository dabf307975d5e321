// The live feed's registry: every connected subscriber, told which robots moved as committed
// events are applied to the projections, plus one heartbeat timer for all of them.
// `robotChanged` runs on the apply path (once per committed chunk, not per event): it only marks
// names; positions are read from the projections when each client writes (see live-client.ts).

import type { Writable } from 'node:stream';
import type { Projections } from '../../projections/projections.js';
import { LiveClient } from './live-client.js';

export interface LiveHubOptions {
  /** Default per-client throttle: at most one message per robot per this many milliseconds. */
  readonly intervalMs: number;
  /** A comment line this often keeps idle streams open through proxies; also when stuck clients are checked. */
  readonly heartbeatMs: number;
  /** A client whose socket has not drained for this long is closed. */
  readonly stallMs: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveHubOptions = Object.freeze({
  intervalMs: 250,
  heartbeatMs: 15_000,
  stallMs: 30_000,
});

export class LiveHub {
  private readonly clients = new Set<LiveClient>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly render = (robot: string): string | null => {
    const projection = this.projections().get(robot);
    if (projection === undefined || projection.eventCount === 0) return null;
    return `event: position\ndata: ${JSON.stringify(projection.summary())}\n\n`;
  };

  constructor(
    /** The serving projections (a rebuild may replace them). */
    private readonly projections: () => Projections,
    readonly options: LiveHubOptions = DEFAULT_LIVE_OPTIONS,
  ) {}

  /** Committed events of `robot` were applied: wake the clients that follow it. */
  readonly robotChanged = (robot: string): void => {
    for (const client of this.clients) {
      if (client.wants(robot)) client.mark(robot);
    }
  };

  /**
   * Adds a subscriber writing to `out` (headers already sent). Its first message holds the current
   * position of every robot it follows, so nothing that moved before it connected is missed.
   * Returns null once the hub is closed.
   */
  connect(out: Writable, filter: ReadonlySet<string> | null, intervalMs = this.options.intervalMs): LiveClient | null {
    if (this.closed) return null;
    const client = new LiveClient(out, filter, this.render, { intervalMs, stallMs: this.options.stallMs });
    this.clients.add(client);
    if (filter === null) {
      for (const robot of this.projections().allRobots()) client.mark(robot.name);
    } else {
      for (const robot of filter) client.mark(robot);
    }
    if (this.heartbeatTimer === undefined) {
      this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    return client;
  }

  /** Forgets a subscriber whose connection went away. */
  disconnect(client: LiveClient): void {
    client.close(true);
    this.clients.delete(client);
    if (this.clients.size === 0) this.stopHeartbeat();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Ends every stream and refuses new ones: at shutdown, so the HTTP server can close. */
  close(): void {
    this.closed = true;
    for (const client of this.clients) client.close();
    this.clients.clear();
    this.stopHeartbeat();
  }

  private heartbeat(): void {
    const now = Date.now();
    for (const client of this.clients) {
      client.heartbeat(now);
      if (client.isClosed) this.clients.delete(client);
    }
    if (this.clients.size === 0) this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
