// Replies of one connection: exactly one reply frame per received frame, in arrival order, each
// sent once every event of its frame has been answered.
//
// Frames settle in bursts — every robot of a group commit is answered in the same round of
// microtasks — so a connection sends what is ready once per burst, in one cork: one write to the
// socket for many replies instead of a system call each (see BENCHMARKS.md, "one write per
// reply", for the profile and the command).

import type { ReplySink } from '../actors/reply-sink.js';

export interface ReplyChannel {
  /** Sends one reply frame; not called once the connection is closed. */
  send(reply: string): void;
  /** Runs `sends` so that what they send leaves in as few writes as possible (uWS `cork`). */
  cork?(sends: () => void): void;
}

/** Counts each status line sent (metrics): called once per event, so it must stay cheap. */
export interface StatusTally {
  count(status: string): void;
}

export class FrameReply implements ReplySink {
  readonly statuses: string[] = [];
  private unsettled = 0;
  private sealed = false;

  constructor(private readonly connection: ConnectionReplies) {}

  /** One more event of this frame was handed to an actor and awaits its outcome. */
  expect(): void {
    this.unsettled++;
  }

  settle(slot: number, status: string): void {
    this.statuses[slot] = status;
    if (--this.unsettled === 0 && this.sealed) this.connection.requestFlush();
  }

  /** Every line of the frame has been read: the reply goes once the outstanding events settle. */
  seal(): void {
    this.sealed = true;
    if (this.unsettled === 0) this.connection.requestFlush();
  }

  get complete(): boolean {
    return this.sealed && this.unsettled === 0;
  }
}

export class ConnectionReplies {
  private queue: FrameReply[] = [];
  private head = 0;
  private closed = false;
  private flushQueued = false;
  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.flush();
  };
  private readonly sendReady = (): void => {
    while (this.head < this.queue.length && this.queue[this.head]!.complete) {
      const frame = this.queue[this.head++]!;
      // Counted even when the socket is gone: the events were decided (and maybe stored) all the same.
      if (this.tally !== null) {
        const statuses = frame.statuses;
        for (let i = 0; i < statuses.length; i++) this.tally.count(statuses[i]!);
      }
      if (this.closed) continue;
      try {
        this.channel.send(frame.statuses.join('\n'));
      } catch {
        // The socket went away between our last look and this send: nothing left to answer to.
        this.closed = true;
      }
    }
  };

  constructor(
    private readonly channel: ReplyChannel,
    private readonly tally: StatusTally | null = null,
  ) {}

  /** Starts the reply to the next received frame. */
  open(): FrameReply {
    const frame = new FrameReply(this);
    this.queue.push(frame);
    return frame;
  }

  /** Frames received whose reply has not been sent. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** A frame became complete: its reply (and any after it that are ready) goes at the end of this burst. */
  requestFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flushNow);
  }

  /** Sends every ready reply at the head of the queue, in order. */
  flush(): void {
    const ready = this.head < this.queue.length && this.queue[this.head]!.complete;
    if (!ready) return;
    if (this.closed || this.channel.cork === undefined) this.sendReady();
    else {
      try {
        this.channel.cork(this.sendReady);
      } catch {
        this.closed = true;
        this.sendReady();
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** The socket closed: outstanding frames still settle (their events may be stored) but send nothing. */
  close(): void {
    this.closed = true;
  }
}
