// Routes each event to its robot's actor, creating the actor on the robot's first event, and drives
// the actors in commit rounds.
//
// A round takes every actor with waiting events, decides each one's batch against its head in one
// pass — verdicts and accepted events written straight into the round's columns — and hands the
// whole round to the log as one appendMany: one promise per round, not one per robot. While the
// round is appended, new events wait in their mailboxes; once it settles, every actor in it learns
// its new head (or meets its conflict or failure), its events are answered, and the next round
// starts at the end of that turn of the event loop. A live fleet puts every robot in every round,
// so per-robot work must cost little: past a round's few arrays, deciding and answering allocate
// nothing per robot or per event.
//
// An actor whose head is unknown reads it between rounds; one with events older than its head
// looks them up in the stored history after its append (both rare), and meanwhile sits out.

import type { Logger } from 'pino';
import { DUP, ERR_UNAVAILABLE, errorReply, OK, STALE } from '../domain/outcome.js';
import { EVENT_STRIDE } from '../domain/location.js';
import { APPEND_CONFLICT, EXPECT_NO_STREAM, failedBatch, type BatchResult, type EventLog } from '../store/event-log.js';
import { decide, Verdict } from './decide.js';
import { matchStoredEvents } from './history.js';
import type { ReplySink } from './reply-sink.js';
import { ActorState, RobotActor, type ActorSettings } from './robot-actor.js';

export interface RouterStats {
  actors: number;
  /** Actors with events not yet answered. */
  busyActors: number;
  conflicts: number;
  failures: number;
  /** Events waiting in all mailboxes (not those of a batch being appended). */
  queuedEvents: number;
  /** Events waiting in the fullest mailbox. */
  maxMailboxDepth: number;
}

const ERR_CONFLICT = errorReply('conflict, retry');

export class Router {
  private readonly actors = new Map<string, RobotActor>();
  /** Actors to look at in the next round (each at most once: `RobotActor.listed`). */
  private listed: RobotActor[] = [];
  private spareList: RobotActor[] = [];
  private roundScheduled = false;
  private roundInFlight = false;
  private readonly round = new RoundColumns();
  /** Events told and not yet answered, and the actors holding them. */
  private unsettled = 0;
  private busy = 0;
  private conflicts = 0;
  private failures = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly runRound = (): void => this.startRound();

  constructor(
    private readonly log: EventLog,
    private readonly settings: ActorSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Hands the event — `event[0..2]`, (x, y, timestamp) packed as everywhere else — to its robot's
   * actor; false when that actor's mailbox is full (nothing queued). Packed, because three doubles
   * passed as arguments would be boxed on every call the engine does not inline.
   */
  route(robot: string, event: Float64Array, sink: ReplySink, slot: number): boolean {
    let actor = this.actors.get(robot);
    if (actor === undefined) {
      actor = new RobotActor(robot, this.settings.maxMailbox);
      this.actors.set(robot, actor);
    }
    const wasIdle = actor.unsettled === 0;
    if (!actor.tell(event, sink, slot)) return false;
    this.unsettled++;
    if (wasIdle) this.busy++;
    if (actor.state === ActorState.Idle || actor.state === ActorState.HeadUnknown) this.list(actor);
    return true;
  }

  /** Walks every actor for the mailbox figures: for a scrape or a log line, not per event. */
  stats(): RouterStats {
    let queuedEvents = 0;
    let maxMailboxDepth = 0;
    for (const actor of this.actors.values()) {
      const depth = actor.waiting;
      queuedEvents += depth;
      if (depth > maxMailboxDepth) maxMailboxDepth = depth;
    }
    return { actors: this.actors.size, busyActors: this.busy, conflicts: this.conflicts, failures: this.failures, queuedEvents, maxMailboxDepth };
  }

  /** Resolves once no actor has work: every event routed so far has been answered. */
  whenIdle(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private list(actor: RobotActor): void {
    if (!actor.listed) {
      actor.listed = true;
      this.listed.push(actor);
    }
    if (!this.roundScheduled && !this.roundInFlight) {
      this.roundScheduled = true;
      setImmediate(this.runRound);
    }
  }

  /** Decides a batch for every listed actor that is ready and appends them all as one round. */
  private startRound(): void {
    this.roundScheduled = false;
    if (this.roundInFlight) return; // its end lists and schedules
    const listed = this.listed;
    this.listed = this.spareList;
    this.spareList = listed;
    const round = this.round;
    round.clear();
    for (let i = 0; i < listed.length; i++) {
      const actor = listed[i]!;
      actor.listed = false;
      if (actor.waiting === 0) continue;
      if (actor.state === ActorState.HeadUnknown) this.loadHead(actor);
      else if (actor.state === ActorState.Idle) this.decideBatch(actor, round);
    }
    listed.length = 0;
    if (round.actorCount === 0) return;
    if (round.appendCount === 0) {
      this.finishRound(NOTHING_APPENDED);
      return;
    }
    this.roundInFlight = true;
    const appends = round.appendCount;
    this.log.appendMany(round.batch()).then(
      (result) => this.finishRound(result),
      (error: unknown) => this.finishRound(failedBatch(appends, error)),
    );
  }

  private decideBatch(actor: RobotActor, round: RoundColumns): void {
    const n = Math.min(actor.waiting, this.settings.maxBatch);
    round.reserve(n);
    const accepted = decide(actor, actor.mail, actor.front, n, round.verdicts, round.verdictCount, round.events, round.eventCount);
    actor.take(n);
    actor.state = ActorState.InRound;
    round.addActor(actor, n, accepted, actor.revision < 0 ? EXPECT_NO_STREAM : actor.revision);
  }

  /** Takes in the round's outcome, actor by actor, then lets the next round start. */
  private finishRound(result: BatchResult): void {
    const round = this.round;
    let failed = 0;
    let failure: Error | undefined;
    let r = 0;
    try {
      for (; r < round.actorCount; r++) {
        const actor = round.actors[r]!;
        const n = round.sizes[r]!;
        const verdictsAt = round.verdictsAt[r]!;
        const append = round.appendOf[r]!;
        let replaced: string | undefined; // the status of Accept and DuplicateOfBatch when not stored
        const revisionBefore = actor.revision;
        if (append >= 0) {
          const first = result.firstRevisions[append]!;
          const count = round.counts[append]!;
          if (first >= 0) {
            const last = (round.eventsOf[append]! + count - 1) * EVENT_STRIDE;
            actor.revision = first + count - 1;
            actor.x = round.events[last]!;
            actor.y = round.events[last + 1]!;
            actor.timestamp = round.events[last + 2]!;
          } else if (first === APPEND_CONFLICT) {
            actor.state = ActorState.HeadUnknown;
            this.conflicts++;
            actor.conflicts++;
            if (actor.conflicts <= this.settings.maxConflictRetries) {
              this.logger.info({ robot: actor.robot, attempt: actor.conflicts }, 'revision conflict: another writer appended first; reloading head');
              actor.untake();
              this.list(actor);
              continue;
            }
            this.logger.warn({ robot: actor.robot, attempts: actor.conflicts }, 'revision conflicts for every retry; events answered with an error');
            replaced = ERR_CONFLICT;
          } else {
            actor.state = ActorState.HeadUnknown;
            failed++;
            failure ??= result.failures.get(append);
            replaced = ERR_UNAVAILABLE;
          }
        }
        if (replaced === undefined && hasOlder(round.verdicts, verdictsAt, n)) {
          actor.state = ActorState.Resolving;
          void this.resolveHistory(actor, round.verdicts.slice(verdictsAt, verdictsAt + n), revisionBefore);
          continue;
        }
        if (actor.state === ActorState.InRound) actor.state = ActorState.Idle;
        this.answer(actor, round.verdicts, verdictsAt, n, replaced);
      }
    } catch (defect) {
      // A bug, not a store failure (those are answered above): still answer every event of the
      // round not yet answered, so no connection waits forever, and forget those heads.
      this.logger.error({ err: defect }, 'taking in a commit round failed; its events answered with an error');
      for (; r < round.actorCount; r++) {
        const actor = round.actors[r]!;
        if (actor.state !== ActorState.InRound) continue;
        actor.state = ActorState.HeadUnknown;
        this.answerAll(actor, round.sizes[r]!, ERR_UNAVAILABLE);
      }
    }
    round.clear();
    this.roundInFlight = false;
    if (failed > 0) {
      this.failures += failed;
      this.logger.error({ err: failure, robots: failed }, 'append failed; events answered with an error');
    }
    if (this.listed.length > 0 && !this.roundScheduled) {
      this.roundScheduled = true;
      setImmediate(this.runRound);
    }
  }

  /**
   * Answers the front batch of `n` events from their verdicts; `replaced` answers the events that
   * were to be stored (or were duplicates of those) when they were not.
   */
  private answer(actor: RobotActor, verdicts: Uint8Array, at: number, n: number, replaced?: string): void {
    for (let i = 0; i < n; i++) {
      const verdict = verdicts[at + i]!;
      const stored = verdict === Verdict.Accept || verdict === Verdict.DuplicateOfBatch;
      actor.settle(i, replaced !== undefined && stored ? replaced : toStatus(verdict));
    }
    this.release(actor, n);
  }

  /** Answers the front batch of `n` events, every one with `status`. */
  private answerAll(actor: RobotActor, n: number, status: string): void {
    for (let i = 0; i < n; i++) actor.settle(i, status);
    this.release(actor, n);
  }

  private release(actor: RobotActor, n: number): void {
    actor.release(n);
    this.unsettled -= n;
    if (actor.unsettled === 0) this.busy--;
    if (actor.waiting > 0 && (actor.state === ActorState.Idle || actor.state === ActorState.HeadUnknown)) this.list(actor);
    if (this.unsettled === 0) this.wakeIdleWaiters();
  }

  private loadHead(actor: RobotActor): void {
    actor.state = ActorState.LoadingHead;
    this.log.head(actor.robot).then(
      (head) => {
        actor.revision = head === null ? -1 : Number(head.revision);
        actor.x = head?.x ?? 0;
        actor.y = head?.y ?? 0;
        actor.timestamp = head?.timestamp ?? -1;
        actor.state = ActorState.Idle;
        if (actor.waiting > 0) this.list(actor);
      },
      (error: unknown) => {
        // Without a head nothing can be decided: answer a batch, so senders hear of it, and try
        // again with the next.
        this.failures++;
        this.logger.error({ robot: actor.robot, err: error }, 'reading the stream head failed; events answered with an error');
        actor.state = ActorState.HeadUnknown;
        const n = Math.min(actor.waiting, this.settings.maxBatch);
        actor.take(n);
        this.answerAll(actor, n, ERR_UNAVAILABLE);
      },
    );
  }

  /** Tells duplicates from stale events among those older than the head, then answers the batch. */
  private async resolveHistory(actor: RobotActor, verdicts: Uint8Array, headRevision: number): Promise<void> {
    const n = verdicts.length;
    const statuses = new Array<string>(n);
    const older: number[] = [];
    for (let i = 0; i < n; i++) {
      if (verdicts[i] === Verdict.NeedsHistory) older.push(i);
      else statuses[i] = toStatus(verdicts[i]!);
    }
    try {
      const mail = actor.mail;
      const wanted = older.map((i) => {
        const at = (actor.front + i) * EVENT_STRIDE;
        return { x: mail[at]!, y: mail[at + 1]!, t: mail[at + 2]! };
      });
      const matches = await matchStoredEvents(this.log, actor.robot, BigInt(headRevision), wanted);
      older.forEach((i, k) => (statuses[i] = matches[k] ? DUP : STALE));
    } catch (error) {
      this.failures++;
      this.logger.error({ robot: actor.robot, err: error }, 'history lookup failed; events answered with an error');
      for (const i of older) statuses[i] = ERR_UNAVAILABLE;
    }
    for (let i = 0; i < n; i++) actor.settle(i, statuses[i]!);
    actor.state = ActorState.Idle;
    this.release(actor, n);
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * One round's columns, reused from round to round: per actor its batch size, where its verdicts
 * start and which append is its (-1: nothing to store); per append the AppendBatch columns and
 * where its events start. They grow to the largest round and stay.
 */
class RoundColumns {
  actors: Array<RobotActor | undefined> = [];
  sizes = new Int32Array(256);
  verdictsAt = new Int32Array(256);
  appendOf = new Int32Array(256);
  actorCount = 0;
  streams: string[] = [];
  expected = new Float64Array(256);
  counts = new Int32Array(256);
  eventsOf = new Int32Array(256);
  appendCount = 0;
  verdicts = new Uint8Array(1024);
  events = new Float64Array(1024 * EVENT_STRIDE);
  /** Verdicts and accepted events written so far: where the next actor's go. */
  verdictCount = 0;
  eventCount = 0;

  clear(): void {
    this.actors.fill(undefined, 0, this.actorCount);
    this.actorCount = 0;
    this.appendCount = 0;
    this.streams = [];
    this.verdictCount = 0;
    this.eventCount = 0;
  }

  /** Makes room for one more actor's batch of `n` events, at verdictCount and eventCount. */
  reserve(n: number): void {
    if (this.verdictCount + n > this.verdicts.length) this.verdicts = grown(this.verdicts, this.verdictCount + n);
    if ((this.eventCount + n) * EVENT_STRIDE > this.events.length) this.events = grown(this.events, (this.eventCount + n) * EVENT_STRIDE);
    if (this.actorCount === this.sizes.length) {
      this.sizes = grown(this.sizes, this.actorCount + 1);
      this.verdictsAt = grown(this.verdictsAt, this.actorCount + 1);
      this.appendOf = grown(this.appendOf, this.actorCount + 1);
      this.expected = grown(this.expected, this.actorCount + 1);
      this.counts = grown(this.counts, this.actorCount + 1);
      this.eventsOf = grown(this.eventsOf, this.actorCount + 1);
    }
  }

  /** Records the actor whose batch of `n` was just decided: `accepted` events, its head at `expected`. */
  addActor(actor: RobotActor, n: number, accepted: number, expected: number): void {
    const r = this.actorCount++;
    this.actors[r] = actor;
    this.sizes[r] = n;
    this.verdictsAt[r] = this.verdictCount;
    this.verdictCount += n;
    if (accepted === 0) {
      this.appendOf[r] = -1;
      return;
    }
    const a = this.appendCount++;
    this.appendOf[r] = a;
    this.streams.push(actor.robot);
    this.expected[a] = expected;
    this.counts[a] = accepted;
    this.eventsOf[a] = this.eventCount;
    this.eventCount += accepted;
  }

  /** The round's appends as the log takes them (views, valid until the next clear). */
  batch() {
    return {
      streams: this.streams,
      expected: this.expected.subarray(0, this.appendCount),
      counts: this.counts.subarray(0, this.appendCount),
      events: this.events.subarray(0, this.eventCount * EVENT_STRIDE),
    };
  }
}

const NOTHING_APPENDED: BatchResult = { firstRevisions: new Float64Array(0), failures: new Map() };

function grown<T extends Uint8Array | Int32Array | Float64Array>(array: T, atLeast: number): T {
  let length = array.length * 2;
  while (length < atLeast) length *= 2;
  const bigger = new (array.constructor as new (length: number) => T)(length);
  bigger.set(array);
  return bigger;
}

function hasOlder(verdicts: Uint8Array, at: number, n: number): boolean {
  for (let i = at; i < at + n; i++) if (verdicts[i] === Verdict.NeedsHistory) return true;
  return false;
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
