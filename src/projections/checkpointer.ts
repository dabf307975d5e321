// Saves the projections to their checkpoint file every T seconds, and sooner once enough new events
// have arrived (only when something changed), and once more at shutdown. One save at a time. The
// event loop copies nothing: a robot's events live in blocks that are never changed once written,
// in shared memory (robot-projection.ts), so the save takes views of what every robot holds at one
// instant — with the position read at that instant — and a worker thread hashes and writes them
// while ingest appends behind. (Until blocks, the event loop copied every array, a slice of the fleet
// per turn, and the copies' garbage was a large part of the engine's full collections; BENCHMARKS.md.)
// Background saves write at a paced rate (checkpoint-file.ts), the one at shutdown at full speed.
//
// "Enough new events" is N, or as many as the last checkpoint held, whichever is more. A save writes
// every event, so with a fixed N its cost per ingested event would grow with the fleet's history;
// this way it stays bounded (at most two writes per event over the log's life).

import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { workerEntry } from '../runtime/worker-entry.js';
import type { CheckpointSaveTask } from './checkpoint/checkpoint-file.js';
import { snapshotRobots } from './checkpoint/shared-snapshot.js';
import type { Projections } from './projections.js';

export interface CheckpointSettings {
  readonly dataDir: string;
  readonly everyEvents: number;
  readonly everySeconds: number;
  readonly projectionVersion: number;
  readonly logIdentity: string;
}

export interface CheckpointInfo {
  readonly position: bigint;
  readonly savedAt: Date;
  readonly events: number;
}

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | null = null;
  private savedEvents = -1;
  private savedPosition = -1n;
  private last: CheckpointInfo | null = null;
  /** Started on the first save, kept until stop (see savePool). */
  private pool: Piscina | undefined;

  constructor(
    private readonly settings: CheckpointSettings,
    private readonly projections: () => Projections,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.saveIfChanged(), this.settings.everySeconds * 1000);
    this.timer.unref();
  }

  get lastSaved(): CheckpointInfo | null {
    return this.last;
  }

  /** Call after projections advance: saves once enough new events have accumulated (see above). */
  advanced(): void {
    const events = this.projections().eventCount;
    const saved = Math.max(this.savedEvents, 0);
    if (this.saving === null && events - saved >= Math.max(this.settings.everyEvents, saved)) void this.saveIfChanged();
  }

  /** Resolves once the save in progress, if any, has finished (saved or logged as failed). */
  async settled(): Promise<void> {
    await this.saving;
  }

  /**
   * Saves now unless the saved checkpoint already reflects the current position (or `force`);
   * `paced` (every save but the one at shutdown) leaves the disk to the log's commits.
   */
  async saveIfChanged(force = false, paced = true): Promise<void> {
    if (this.saving !== null) {
      await this.saving;
      if (!force) return;
    }
    const projections = this.projections();
    if (!force && projections.position === this.savedPosition) return;
    const saving: Promise<void> = this.save(projections, paced).finally(() => {
      if (this.saving === saving) this.saving = null;
    });
    this.saving = saving;
    await saving;
  }

  /** Takes every robot's state and the position at one instant, then has the thread write them; logs either way. */
  private async save(projections: Projections, paced: boolean): Promise<void> {
    const started = performance.now();
    const position = projections.position;
    const events = projections.eventCount;
    try {
      const robots = snapshotRobots(projections.allRobots());
      const { projectionVersion, logIdentity, dataDir } = this.settings;
      const task: CheckpointSaveTask = { meta: { projectionVersion, logIdentity }, position: position.toString(), robots, dataDir, paced };
      // The events stay where they are: the task carries the shared memory they lie in and where.
      const run = this.savePool().run(task, { transferList: [robots.robots.buffer, robots.spans.buffer, robots.memoryIds.buffer] });
      const snapshotMs = Math.round((performance.now() - started) * 10) / 10;
      await run;
      this.savedPosition = position;
      this.savedEvents = events;
      this.last = { position, savedAt: new Date(), events };
      const ms = Math.round(performance.now() - started);
      this.logger.info({ position: position.toString(), events, snapshotMs, paced, ms }, 'projection checkpoint saved');
    } catch (error) {
      this.logger.error({ err: error }, 'projection checkpoint could not be saved; will retry');
    }
  }

  /** Records that the projections were loaded from a checkpoint at `position`. */
  loaded(info: CheckpointInfo): void {
    this.savedPosition = info.position;
    this.savedEvents = info.events;
    this.last = info;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.saving;
    await this.saveIfChanged(false, false);
    await this.pool?.destroy();
    this.pool = undefined;
  }

  /**
   * One thread, started with the first save and kept until stop: started anew for each save, its
   * start-up (a thread, its modules) landed on the cores ingest was using at that moment, and the
   * acks around it showed it (BENCHMARKS.md, "Checkpoints, paced").
   */
  private savePool(): Piscina {
    if (this.pool === undefined) {
      const entry = workerEntry('save-checkpoint');
      this.pool = new Piscina({ filename: entry.filename, execArgv: entry.execArgv, minThreads: 1, maxThreads: 1 });
    }
    return this.pool;
  }
}
