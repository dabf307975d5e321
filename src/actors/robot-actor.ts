// One robot's actor: its mailbox and what it knows of its stream's head. The router (router.ts)
// drives every actor in commit rounds; an actor is in at most one round at a time and takes its
// events in arrival order, so a robot's history is always decided and written in order — and the
// expected-revision check on every append keeps any other writer (another process, another
// instance) from interleaving: on a conflict the actor reloads its head and decides again.
//
// The mailbox is a packed (x, y, timestamp) array with the reply sink and slot of each event,
// allocated once per robot and reused: a steady fleet allocates nothing per event or per round here.

import { EVENT_STRIDE } from '../domain/location.js';
import type { DecisionHead } from './decide.js';
import type { ReplySink } from './reply-sink.js';

export interface ActorSettings {
  /** Most events decided and appended as one batch. */
  readonly maxBatch: number;
  /** Conflicts tolerated for one batch before its events are answered with an error. */
  readonly maxConflictRetries: number;
  /** Events waiting in the mailbox (not counting the batch being appended) before `tell` refuses more. */
  readonly maxMailbox: number;
}

export const ActorState = {
  /** The head is not known (never read, or unknown after a conflict or failure): read it first. */
  HeadUnknown: 0,
  /** The head is being read. */
  LoadingHead: 1,
  /** Ready to take its next batch into a round. */
  Idle: 2,
  /** Its batch is in the round being appended. */
  InRound: 3,
  /** Its batch is appended; events older than the head wait for a history lookup. */
  Resolving: 4,
} as const;
export type ActorState = (typeof ActorState)[keyof typeof ActorState];

const INITIAL_CAPACITY = 8;
/**
 * A mailbox this large goes back to INITIAL_CAPACITY once it is empty: a burst (a fleet flushing
 * what it buffered while disconnected) would otherwise hold up to twice TELEMETRY_MAX_MAILBOX_EVENTS
 * slots, ~36 bytes each, per robot for good. Steady traffic keeps far fewer events waiting.
 */
const SHRINK_ABOVE = 1024;

export class RobotActor implements DecisionHead {
  state: ActorState = ActorState.HeadUnknown;
  /** In the router's list of actors to look at in the next round. */
  listed = false;
  /** Revision of the stream's last event; -1 when the stream is empty. Valid unless HeadUnknown. */
  revision = -1;
  x = 0;
  y = 0;
  /** -1 when the stream is empty. */
  timestamp = -1;
  /** Conflicts met by the batch at the front of the mailbox. */
  conflicts = 0;

  /** The mailbox: events [start, end) of `events`, the first `taken` of them in a batch being appended. */
  private events!: Float64Array;
  private sinks!: Array<ReplySink | undefined>;
  private slots!: Int32Array;
  private start = 0;
  private end = 0;
  private taken = 0;

  constructor(
    readonly robot: string,
    private readonly maxMailbox: number,
  ) {
    this.emptyMailbox();
  }

  /** Events waiting, not counting a batch being appended. */
  get waiting(): number {
    return this.end - this.start - this.taken;
  }

  /** Events told and not yet answered. */
  get unsettled(): number {
    return this.end - this.start;
  }

  /** The packed mailbox, valid until the next `tell`; the front batch starts at event `front`. */
  get mail(): Float64Array {
    return this.events;
  }

  get front(): number {
    return this.start;
  }

  /**
   * Queues one event (`event[0..2]`: x, y, timestamp); false (nothing queued, `sink` untouched) when the mailbox is full, so a robot
   * whose log cannot keep up costs a bounded amount of memory, whatever its senders do.
   */
  tell(event: Float64Array, sink: ReplySink, slot: number): boolean {
    if (this.waiting >= this.maxMailbox) return false;
    if (this.end === this.slots.length) this.makeRoom();
    const end = this.end++;
    const at = end * EVENT_STRIDE;
    this.events[at] = event[0]!;
    this.events[at + 1] = event[1]!;
    this.events[at + 2] = event[2]!;
    this.sinks[end] = sink;
    this.slots[end] = slot;
    return true;
  }

  /** Marks the first `n` waiting events as the batch being appended. */
  take(n: number): void {
    this.taken = n;
  }

  /** Puts the batch back, unanswered: it is decided again in a later round. */
  untake(): void {
    this.taken = 0;
  }

  /** Answers event `i` of the front batch; `release` then drops the batch from the mailbox. */
  settle(i: number, status: string): void {
    const k = this.start + i;
    this.sinks[k]!.settle(this.slots[k]!, status);
    this.sinks[k] = undefined;
  }

  /** Events the mailbox holds before it has to grow. */
  get capacity(): number {
    return this.slots.length;
  }

  /** Drops the first `n` events, all answered, from the mailbox. */
  release(n: number): void {
    this.start += n;
    this.taken = 0;
    this.conflicts = 0;
    if (this.start !== this.end) return;
    this.start = this.end = 0;
    // Every event is answered: nothing to carry over.
    if (this.slots.length > SHRINK_ABOVE) this.emptyMailbox();
  }

  /** A mailbox of INITIAL_CAPACITY slots, none used. */
  private emptyMailbox(): void {
    this.events = new Float64Array(INITIAL_CAPACITY * EVENT_STRIDE);
    this.sinks = new Array<ReplySink | undefined>(INITIAL_CAPACITY).fill(undefined);
    this.slots = new Int32Array(INITIAL_CAPACITY);
  }

  /** The mailbox is full at its end: moves the events to its front, or doubles it. */
  private makeRoom(): void {
    const capacity = this.slots.length;
    const count = this.end - this.start;
    if (this.start > 0 && count <= capacity / 2) {
      this.events.copyWithin(0, this.start * EVENT_STRIDE, this.end * EVENT_STRIDE);
      this.slots.copyWithin(0, this.start, this.end);
      for (let i = 0; i < count; i++) this.sinks[i] = this.sinks[this.start + i];
      this.sinks.fill(undefined, count, this.end);
    } else {
      const events = new Float64Array(capacity * 2 * EVENT_STRIDE);
      events.set(this.events.subarray(this.start * EVENT_STRIDE, this.end * EVENT_STRIDE));
      const slots = new Int32Array(capacity * 2);
      slots.set(this.slots.subarray(this.start, this.end));
      const sinks = new Array<ReplySink | undefined>(capacity * 2).fill(undefined);
      for (let i = 0; i < count; i++) sinks[i] = this.sinks[this.start + i];
      this.events = events;
      this.slots = slots;
      this.sinks = sinks;
    }
    this.start = 0;
    this.end = count;
  }
}
