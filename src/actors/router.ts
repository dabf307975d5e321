// Routes each event to its robot's actor, creating the actor on the robot's first event, and
// knows when every actor has gone quiet (for a clean shutdown).

import type { Logger } from 'pino';
import type { EventLog } from '../store/event-log.js';
import type { ReplySink } from './reply-sink.js';
import { RobotActor, type ActorObserver, type ActorSettings } from './robot-actor.js';

export interface RouterStats {
  actors: number;
  busyActors: number;
  conflicts: number;
  failures: number;
  /** Events waiting in all mailboxes (not those of a batch being appended). */
  queuedEvents: number;
  /** Events waiting in the fullest mailbox. */
  maxMailboxDepth: number;
}

export class Router {
  private readonly actors = new Map<string, RobotActor>();
  private readonly observer: ActorObserver;
  private busy = 0;
  private conflicts = 0;
  private failures = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly log: EventLog,
    private readonly settings: ActorSettings,
    logger: Logger,
  ) {
    this.observer = {
      conflict: (robot, attempt) => {
        this.conflicts++;
        logger.info({ robot, attempt }, 'revision conflict: another writer appended first; reloading head');
      },
      failure: (robot, error) => {
        this.failures++;
        logger.error({ robot, err: error }, 'append failed; events answered with an error');
      },
      idle: () => {
        this.busy--;
        if (this.busy === 0) this.wakeIdleWaiters();
      },
    };
  }

  /** Hands the event to its robot's actor; false when that actor's mailbox is full (nothing queued). */
  route(robot: string, x: number, y: number, timestamp: number, sink: ReplySink, slot: number): boolean {
    let actor = this.actors.get(robot);
    if (actor === undefined) {
      actor = new RobotActor(robot, this.log, this.settings, this.observer);
      this.actors.set(robot, actor);
    }
    const wasBusy = actor.busy;
    if (!actor.tell(x, y, timestamp, sink, slot)) return false;
    if (!wasBusy) this.busy++;
    return true;
  }

  /** Walks every actor for the mailbox figures: for a scrape or a log line, not per event. */
  stats(): RouterStats {
    let queuedEvents = 0;
    let maxMailboxDepth = 0;
    for (const actor of this.actors.values()) {
      const depth = actor.mailboxDepth;
      queuedEvents += depth;
      if (depth > maxMailboxDepth) maxMailboxDepth = depth;
    }
    return { actors: this.actors.size, busyActors: this.busy, conflicts: this.conflicts, failures: this.failures, queuedEvents, maxMailboxDepth };
  }

  /** Resolves once no actor has work: every event routed so far has been answered. */
  whenIdle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
