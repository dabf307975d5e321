// One live-feed subscriber: which robots it wants, which of them moved since its last write, and
// when it may write next. Coalescing keeps a browser safe from a 100 Hz fleet: the client holds
// only robot *names* (a set no larger than the fleet, or its filter), and the position is read
// from the projections when the write happens, so the latest position always wins and nothing
// queues up per event. A socket that stops draining is not written to until it drains, and is
// closed if it stays stuck — the server never buffers without limit for a slow browser.

import type { Writable } from 'node:stream';

/** Renders the SSE message for a robot's current position, or null when the robot is unknown. */
export type RenderPosition = (robot: string) => string | null;

export interface LiveClientOptions {
  /** At most one message per robot per this many milliseconds. */
  readonly intervalMs: number;
  /** A client whose socket has not drained for this long is closed. */
  readonly stallMs: number;
}

const HEARTBEAT = ': heartbeat\n\n';

export class LiveClient {
  /** Robots that moved since the last write (names only; positions are read at write time). */
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastWriteAt = -Infinity;
  /** True from a refused write (write returned false) until the socket drains. */
  private congested = false;
  private congestedSince = 0;
  private closed = false;
  // Bound once, so arming a timer or waiting for 'drain' allocates no closure.
  private readonly flushNow = (): void => this.flush();
  private readonly drained = (): void => this.onDrain();

  constructor(
    private readonly out: Writable,
    /** Robots this client follows; null follows every robot. */
    readonly filter: ReadonlySet<string> | null,
    private readonly render: RenderPosition,
    private readonly options: LiveClientOptions,
  ) {}

  wants(robot: string): boolean {
    return this.filter === null || this.filter.has(robot);
  }

  /** Robots waiting for the next write. */
  get pendingCount(): number {
    return this.pending.size;
  }

  get isCongested(): boolean {
    return this.congested;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Notes that `robot` moved; the write happens at most once per interval. */
  mark(robot: string): void {
    this.pending.add(robot);
    if (this.timer === undefined && !this.congested && !this.closed) this.schedule();
  }

  /** Keeps proxies and the browser from timing the stream out; closes a client stuck for too long. */
  heartbeat(now: number): void {
    if (this.closed) return;
    if (this.congested) {
      if (now - this.congestedSince >= this.options.stallMs) this.close(true);
      return;
    }
    this.write(HEARTBEAT);
  }

  /** Stops writing; `abort` drops the socket (a stuck client), otherwise the response ends cleanly. */
  close(abort = false): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.out.off('drain', this.drained);
    if (abort) this.out.destroy();
    else this.out.end();
  }

  private schedule(): void {
    const wait = Math.max(0, this.lastWriteAt + this.options.intervalMs - Date.now());
    this.timer = setTimeout(this.flushNow, wait);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.closed || this.congested || this.pending.size === 0) return;
    let text = '';
    for (const robot of this.pending) {
      const message = this.render(robot);
      if (message !== null) text += message;
    }
    this.pending.clear();
    this.lastWriteAt = Date.now();
    if (text.length > 0) this.write(text);
  }

  private write(text: string): void {
    if (this.out.write(text)) return;
    this.congested = true;
    this.congestedSince = Date.now();
    this.out.once('drain', this.drained);
  }

  private onDrain(): void {
    this.congested = false;
    if (this.pending.size > 0 && this.timer === undefined && !this.closed) this.schedule();
  }
}
