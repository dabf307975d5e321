// Replies of one connection: exactly one reply frame per received frame, in arrival order, each
// sent once every event of its frame has been answered.

import type { ReplySink } from '../actors/reply-sink.js';

export interface ReplyChannel {
  /** Sends one reply frame; not called once the connection is closed. */
  send(reply: string): void;
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
    if (--this.unsettled === 0 && this.sealed) this.connection.flush();
  }

  /** Every line of the frame has been read: the reply goes once the outstanding events settle. */
  seal(): void {
    this.sealed = true;
    if (this.unsettled === 0) this.connection.flush();
  }

  get complete(): boolean {
    return this.sealed && this.unsettled === 0;
  }
}

export class ConnectionReplies {
  private queue: FrameReply[] = [];
  private head = 0;
  private closed = false;

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

  flush(): void {
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
