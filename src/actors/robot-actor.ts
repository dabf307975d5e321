// One robot's actor: its mailbox and its stream head. Events are decided and appended one batch at
// a time, in arrival order, so a robot's history is always written in order by one writer here —
// and the expected-revision check on every append keeps any other writer (another process, another
// instance) from interleaving: on a conflict the actor reloads its head and decides again.

import { hasCode } from '../domain/errors.js';
import { EVENT_STRIDE } from '../domain/location.js';
import { DUP, ERR_UNAVAILABLE, errorReply, OK, STALE } from '../domain/outcome.js';
import type { EventLog, ExpectedRevision, StreamHead } from '../store/event-log.js';
import { decide, Verdict } from './decide.js';
import { matchStoredEvents } from './history.js';
import type { ReplySink } from './reply-sink.js';

export interface ActorSettings {
  /** Most events decided and appended as one batch. */
  readonly maxBatch: number;
  /** Conflicts tolerated for one batch before its events are answered with an error. */
  readonly maxConflictRetries: number;
  /** Events waiting in the mailbox (not counting the batch being appended) before `tell` refuses more. */
  readonly maxMailbox: number;
}

export interface ActorObserver {
  conflict(robot: string, attempt: number): void;
  failure(robot: string, error: unknown): void;
  idle(actor: RobotActor): void;
}

export class RobotActor {
  // The mailbox, as parallel arrays: no object per event.
  private xs: number[] = [];
  private ys: number[] = [];
  private ts: number[] = [];
  private sinks: ReplySink[] = [];
  private slots: number[] = [];
  /** undefined: not loaded (or unknown after a failure); null: the stream is empty. */
  private head: StreamHead | null | undefined = undefined;
  private running = false;

  constructor(
    readonly robot: string,
    private readonly log: EventLog,
    private readonly settings: ActorSettings,
    private readonly observer: ActorObserver,
  ) {}

  get mailboxDepth(): number {
    return this.ts.length;
  }

  get busy(): boolean {
    return this.running;
  }

  /**
   * Queues one event; false (nothing queued, `sink` untouched) when the mailbox is full, so a robot
   * whose log cannot keep up costs a bounded amount of memory, whatever its senders do.
   */
  tell(x: number, y: number, timestamp: number, sink: ReplySink, slot: number): boolean {
    if (this.ts.length >= this.settings.maxMailbox) return false;
    this.xs.push(x);
    this.ys.push(y);
    this.ts.push(timestamp);
    this.sinks.push(sink);
    this.slots.push(slot);
    if (!this.running) void this.run();
    return true;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.ts.length > 0) await this.processBatch();
    } finally {
      this.running = false;
      this.observer.idle(this);
    }
  }

  private async processBatch(): Promise<void> {
    const n = Math.min(this.ts.length, this.settings.maxBatch);
    const xs = this.xs.splice(0, n);
    const ys = this.ys.splice(0, n);
    const ts = this.ts.splice(0, n);
    const sinks = this.sinks.splice(0, n);
    const slots = this.slots.splice(0, n);
    let statuses: string[];
    try {
      statuses = await this.decideAndAppend(xs, ys, ts, n);
    } catch (error) {
      // A defect, not a store failure (those are answered inside): still answer every event, so no
      // connection waits forever, and forget the head, which may no longer be right.
      this.head = undefined;
      this.observer.failure(this.robot, error);
      statuses = new Array<string>(n).fill(ERR_UNAVAILABLE);
    }
    for (let i = 0; i < n; i++) sinks[i]!.settle(slots[i]!, statuses[i]!);
  }

  private async decideAndAppend(xs: number[], ys: number[], ts: number[], n: number): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      let head: StreamHead | null;
      try {
        head = this.head === undefined ? await this.log.head(this.robot) : this.head;
        this.head = head;
      } catch (error) {
        this.observer.failure(this.robot, error);
        return new Array<string>(n).fill(ERR_UNAVAILABLE);
      }
      const { verdicts, accepted } = decide(head, xs, ys, ts, n);
      if (accepted.length > 0) {
        try {
          const result = await this.log.append(this.robot, accepted, expectedRevision(head));
          const last = accepted.length - EVENT_STRIDE;
          this.head = {
            revision: result.nextExpectedRevision,
            x: accepted[last]!,
            y: accepted[last + 1]!,
            timestamp: accepted[last + 2]!,
          };
        } catch (error) {
          this.head = undefined;
          if (hasCode(error, 'REVISION_CONFLICT') && attempt < this.settings.maxConflictRetries) {
            this.observer.conflict(this.robot, attempt + 1);
            continue;
          }
          this.observer.failure(this.robot, error);
          const reason = hasCode(error, 'REVISION_CONFLICT') ? errorReply('conflict, retry') : ERR_UNAVAILABLE;
          return Array.from(verdicts, (v) => (v === Verdict.Accept || v === Verdict.DuplicateOfBatch ? reason : toStatus(v)));
        }
      }
      return this.resolveHistory(xs, ys, ts, verdicts, head);
    }
  }

  /** Turns verdicts into status lines, looking up the stored history for events older than the head. */
  private async resolveHistory(
    xs: number[],
    ys: number[],
    ts: number[],
    verdicts: Uint8Array,
    head: StreamHead | null,
  ): Promise<string[]> {
    const statuses = Array.from(verdicts, toStatus);
    const older: number[] = [];
    for (let i = 0; i < verdicts.length; i++) if (verdicts[i] === Verdict.NeedsHistory) older.push(i);
    if (older.length === 0 || head === null) return statuses;
    try {
      const wanted = older.map((i) => ({ x: xs[i]!, y: ys[i]!, t: ts[i]! }));
      const matches = await matchStoredEvents(this.log, this.robot, head.revision, wanted);
      older.forEach((i, k) => (statuses[i] = matches[k] ? DUP : STALE));
    } catch (error) {
      this.observer.failure(this.robot, error);
      for (const i of older) statuses[i] = ERR_UNAVAILABLE;
    }
    return statuses;
  }
}

function toStatus(verdict: number): string {
  switch (verdict) {
    case Verdict.Accept:
      return OK;
    case Verdict.Duplicate:
    case Verdict.DuplicateOfBatch:
      return DUP;
    case Verdict.Stale:
      return STALE;
    default:
      return ERR_UNAVAILABLE; // NeedsHistory is resolved by resolveHistory
  }
}

function expectedRevision(head: StreamHead | null): ExpectedRevision {
  return head === null ? 'no_stream' : head.revision;
}
