// One load connection on an upgraded raw socket: writes pre-built masked frames, parses the replies,
// counts their statuses and records each frame's latency. Closed loop: `inflight` frames outstanding,
// the next one sent on each reply. Open loop: frames sent on a fixed schedule, latency counted from
// the scheduled time, so a slow server cannot hide its slowness by slowing the generator down.

import type { Socket } from 'node:net';
import { FrameParser, type FrameSink } from './frame-parser.js';
import type { FramePool } from './frame-pool.js';
import { OPCODE_PONG, OPCODE_TEXT, clientCloseFrame, encodeFrame, randomMaskKey } from './frames.js';
import type { OpenSocket } from './handshake.js';
import { InflightQueue } from './inflight-queue.js';
import { recordMs, type Histogram } from './latency.js';
import type { StatusCounter } from './statuses.js';

/** What all connections of one thread add to. */
export interface RunStats {
  framesSent: number;
  framesAnswered: number;
  /** Statuses received, and those received within the measured window (after any warm-up). */
  events: number;
  eventsInWindow: number;
  readonly statuses: StatusCounter;
  readonly latency: Histogram;
  readonly errors: string[];
}

export type Pacing =
  | { readonly kind: 'closed'; readonly inflight: number }
  /** `phase` in [0, 1) staggers connections so their frames do not all fall due together. */
  | { readonly kind: 'open'; readonly framesPerSecond: number; readonly phase: number };

const MAX_ERRORS_KEPT = 20;

export class LoadConnection implements FrameSink {
  private readonly socket: Socket;
  private readonly parser: FrameParser;
  private readonly queue = new InflightQueue();
  private nextFrame = 0;
  private now = 0;
  private sending = false;
  private windowEnd = Infinity;
  private measureFrom = 0;
  // Open loop: frame i falls due at firstDue + i · interval.
  private firstDue = 0;
  private interval = 0;
  private dueIndex = 0;
  private nextDue = Infinity;
  private closeSent = false;
  private closed = false;
  private whenIdle: (() => void) | null = null;
  private whenClosed: (() => void) | null = null;

  constructor(
    open: OpenSocket,
    private readonly pool: FramePool,
    private readonly stats: RunStats,
    private readonly pacing: Pacing,
  ) {
    this.socket = open.socket;
    this.parser = new FrameParser(this);
    this.socket.on('data', this.onData);
    this.socket.on('error', (error) => this.error(`socket error: ${error.message}`));
    this.socket.on('close', () => {
      this.closed = true;
      this.sending = false;
      this.whenIdle?.();
      this.whenClosed?.();
    });
    if (open.rest.length > 0) this.onData(open.rest);
    this.socket.resume();
  }

  /**
   * Starts sending at `start` (performance.now() ms); frames go out until `windowEnd`. Frames sent
   * before `measureFrom` (the warm-up) count in neither latency nor rate.
   */
  start(start: number, measureFrom: number, windowEnd: number): void {
    if (this.closed) return;
    this.sending = true;
    this.measureFrom = measureFrom;
    this.windowEnd = windowEnd;
    this.socket.cork();
    if (this.pacing.kind === 'closed') {
      for (let i = 0; i < this.pacing.inflight; i++) this.send(start);
    } else {
      this.interval = 1000 / this.pacing.framesPerSecond;
      this.firstDue = start + this.pacing.phase * this.interval;
      this.nextDue = this.firstDue;
      this.pump(start);
    }
    this.socket.uncork();
  }

  /** Open loop: sends every frame due by `now`. The caller corks around a batch of connections. */
  pump(now: number): void {
    while (this.sending && this.nextDue <= now) {
      if (this.nextDue >= this.windowEnd) {
        this.sending = false;
        break;
      }
      this.send(this.nextDue);
      this.nextDue = this.firstDue + ++this.dueIndex * this.interval;
    }
  }

  /** Sends nothing more; resolves once every sent frame is answered (or the socket is gone). */
  stopSending(): Promise<void> {
    this.sending = false;
    if (this.queue.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.whenIdle = resolve));
  }

  get outstanding(): number {
    return this.queue.length;
  }

  /** Open loop: when the next frame falls due (Infinity once sending is over). */
  get nextDueTime(): number {
    return this.sending ? this.nextDue : Infinity;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** A clean close: a masked close frame, then the server's close, within `timeoutMs` or the socket is destroyed. */
  close(timeoutMs: number): Promise<void> {
    this.sending = false;
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.whenClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      if (!this.closeSent) {
        this.closeSent = true;
        this.socket.write(clientCloseFrame(1000));
      }
    });
  }

  private send(time: number): void {
    const copy = this.pool.take(this.nextFrame++);
    this.queue.push(time, copy);
    this.stats.framesSent++;
    this.socket.write(copy.buf);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.now = performance.now();
    this.socket.cork();
    try {
      this.parser.push(chunk);
    } catch (error) {
      this.error((error as Error).message);
      this.socket.destroy();
    }
    if (this.pacing.kind === 'open') this.pump(this.now);
    this.socket.uncork();
  };

  onMessage(opcode: number, data: Buffer, start: number, end: number): void {
    if (this.queue.length === 0) {
      this.error('a reply arrived with no frame outstanding');
      return;
    }
    const stats = this.stats;
    const now = this.now;
    const sentAt = this.queue.oldestTime();
    const measured = sentAt >= this.measureFrom;
    if (measured) recordMs(stats.latency, now - sentAt);
    this.pool.release(this.queue.shift());
    stats.framesAnswered++;
    const statuses = opcode === OPCODE_TEXT ? stats.statuses.count(data, start, end) : 0;
    if (opcode !== OPCODE_TEXT) this.error('a binary reply');
    stats.events += statuses;
    // The rate is what was answered during the measured window, whenever it was sent: a slow server
    // with many frames in flight still answers warm-up frames well into the window.
    if (now > this.measureFrom && now <= this.windowEnd) stats.eventsInWindow += statuses;
    if (this.sending && this.pacing.kind === 'closed') {
      if (now < this.windowEnd) this.send(now);
      else this.sending = false;
    }
    if (!this.sending && this.queue.length === 0) this.whenIdle?.();
  }

  onPing(payload: Buffer): void {
    if (!this.closeSent) this.socket.write(encodeFrame(OPCODE_PONG, payload, randomMaskKey()));
  }

  onClose(code: number | undefined, reason: string): void {
    if (!this.closeSent) {
      // Not asked for: the server is going away, and whatever is outstanding will not be answered.
      if (this.sending || this.queue.length > 0) this.error(`server closed the connection: ${code ?? 'no code'} ${reason}`.trim());
      this.closeSent = true;
      this.socket.write(clientCloseFrame(code ?? 1000));
    }
    this.sending = false;
    this.socket.end();
  }

  private error(message: string): void {
    if (this.stats.errors.length < MAX_ERRORS_KEPT) this.stats.errors.push(message);
  }
}
