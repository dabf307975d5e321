// Replies of one connection: exactly one reply frame per received frame, in arrival order, each
// sent once every event of its frame has been answered.
//
// Frames settle in bursts — every robot of a group commit is answered in the same round of
// microtasks — so a connection sends what is ready once per burst, in one cork: one write to the
// socket for many replies instead of a system call each (see BENCHMARKS.md, "one write per
// reply", for the profile and the command).

import type { ReplySink } from '../actors/reply-sink.js';
import { OK } from '../domain/outcome.js';

export interface ReplyChannel {
  /** Sends one reply frame; not called once the connection is closed. */
  send(reply: string): void;
  /** Runs `sends` so that what they send leaves in as few writes as possible (uWS `cork`). */
  cork?(sends: () => void): void;
}

/** Counts the status lines sent (metrics): called per frame and status, so it must stay cheap. */
export interface StatusTally {
  /** `n` more lines with `status`. */
  count(status: string, n?: number): void;
}

/**
 * One frame's reply. Almost every frame is answered OK on every line, so only the statuses that
 * are not OK are kept (by line), and an all-OK reply is one shared string per line count: a frame
 * allocates no array of statuses and no reply text of its own.
 */
export class FrameReply implements ReplySink {
  /** Statuses other than OK, by line; null while every line so far is OK. */
  private others: Array<string | undefined> | null = null;
  private okLines = 0;
  private lines = 0;
  private unsettled = 0;
  private sealed = false;

  constructor(private readonly connection: ConnectionReplies) {}

  /** One more event of this frame was handed to an actor and awaits its outcome. */
  expect(): void {
    this.unsettled++;
  }

  /** Answers line `slot` at once: a line refused before any actor saw it, or a refused frame (slot 0). */
  answer(slot: number, status: string): void {
    if (status === OK) this.okLines++;
    else (this.others ??= [])[slot] = status;
  }

  settle(slot: number, status: string): void {
    this.answer(slot, status);
    if (--this.unsettled === 0 && this.sealed) this.connection.requestFlush();
  }

  /** All `lines` lines of the frame have been read: the reply goes once the outstanding events settle. */
  seal(lines: number): void {
    this.lines = lines;
    this.sealed = true;
    if (this.unsettled === 0) this.connection.requestFlush();
  }

  get complete(): boolean {
    return this.sealed && this.unsettled === 0;
  }

  /** The reply frame: one status per line, in line order. */
  text(): string {
    const others = this.others;
    if (others === null) return allOk(this.lines);
    const statuses = new Array<string>(this.lines);
    for (let i = 0; i < this.lines; i++) statuses[i] = others[i] ?? OK;
    return statuses.join('\n');
  }

  /** Counts the frame's status lines into `tally`. */
  countInto(tally: StatusTally): void {
    if (this.okLines > 0) tally.count(OK, this.okLines);
    const others = this.others;
    if (others === null) return;
    for (let i = 0; i < others.length; i++) {
      const status = others[i];
      if (status !== undefined) tally.count(status);
    }
  }
}

/** All-OK replies by line count, made once each: frames of a fleet come in a few sizes. */
const ALL_OK: string[] = [];
const MAX_CACHED_LINES = 4096;

function allOk(lines: number): string {
  const cached = ALL_OK[lines];
  if (cached !== undefined) return cached;
  const text = lines === 0 ? '' : `${`${OK}\n`.repeat(lines - 1)}${OK}`;
  if (lines <= MAX_CACHED_LINES) ALL_OK[lines] = text;
  return text;
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
      if (this.tally !== null) frame.countInto(this.tally);
      if (this.closed) continue;
      try {
        this.channel.send(frame.text());
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
