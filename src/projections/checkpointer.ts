// Saves the projections' checkpoint every T seconds, and sooner once enough new events have arrived
// (only when something changed), and once more at shutdown. One save at a time. The event loop
// copies nothing: a robot's events live in blocks that are never changed once written, in shared
// memory (robot-projection.ts), so the save takes views of what every robot holds at one instant —
// with the position read at that instant — and a worker thread hashes and writes them while ingest
// appends behind. (Until blocks, the event loop copied every array, a slice of the fleet per turn,
// and the copies' garbage was a large part of the engine's full collections; BENCHMARKS.md.)
// Background saves write at a paced rate (checkpoint-file.ts), the one at shutdown at full speed.
//
// A save writes only what the robots gained since the last one, as a segment of the checkpoint's
// chain (checkpoint-chain.ts) — merged with the last segment while the two fit in SEGMENT_EVENTS.
// Projections the chain does not describe (the first save, a rebuild swapped in, a checkpoint of the
// older one-file layout) are saved whole, as a new chain.
//
// "Enough new events" is N, or as many as the checkpoint already holds while that is less than
// SEGMENT_EVENTS: a small history is saved whole a few times as it doubles, a long one a segment of
// about SEGMENT_EVENTS at a time.

import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { workerEntry } from '../runtime/worker-entry.js';
import { newSegmentFileName } from './checkpoint/checkpoint-file.js';
import { SEGMENT_EVENTS, type CheckpointSaveTask, type LoadedCheckpoint, type SegmentEntry } from './checkpoint/checkpoint-chain.js';
import { snapshotRobots } from './checkpoint/shared-snapshot.js';
import type { Projections } from './projections.js';
import type { RobotProjection } from './robot-projection.js';

export interface CheckpointSettings {
  readonly dataDir: string;
  readonly everyEvents: number;
  readonly everySeconds: number;
  readonly projectionVersion: number;
  readonly logIdentity: string;
  /** Events a segment gathers before a new one is started (default SEGMENT_EVENTS; tests vary it). */
  readonly segmentEvents?: number;
}

export interface CheckpointInfo {
  readonly position: bigint;
  readonly savedAt: Date;
  readonly events: number;
}

/** The chain the last save wrote or the checkpoint loaded, and the projections it describes. */
interface Chain {
  readonly of: Projections;
  readonly segments: readonly SegmentEntry[];
  /** Per robot, the revision the last segment starts at (absent: 0). */
  readonly lastStart: ReadonlyMap<string, number>;
  /** Per robot, the events saved (absent: 0). */
  readonly saved: ReadonlyMap<string, number>;
}

export class Checkpointer {
  private timer: NodeJS.Timeout | undefined;
  private chain: Chain | null = null;
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
    const due = Math.max(this.settings.everyEvents, Math.min(saved, this.segmentEvents));
    if (this.saving === null && events - saved >= due) void this.saveIfChanged();
  }

  private get segmentEvents(): number {
    return this.settings.segmentEvents ?? SEGMENT_EVENTS;
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

  /**
   * Takes every robot's state and the position at one instant, works out what the segment holds,
   * then has the thread write it; logs either way.
   */
  private async save(projections: Projections, paced: boolean): Promise<void> {
    const started = performance.now();
    const position = projections.position;
    const events = projections.eventCount;
    try {
      const plan = this.plan(projections);
      const robots = snapshotRobots(plan.robots, plan.from);
      const { projectionVersion, logIdentity, dataDir } = this.settings;
      const task: CheckpointSaveTask = {
        meta: { projectionVersion, logIdentity },
        position: position.toString(),
        robots,
        dataDir,
        paced,
        file: newSegmentFileName(),
        keep: plan.keep,
        drop: plan.drop,
      };
      // The events stay where they are: the task carries the shared memory they lie in and where.
      const run = this.savePool().run(task, { transferList: [robots.robots.buffer, robots.spans.buffer, robots.memoryIds.buffer] });
      const snapshotMs = Math.round((performance.now() - started) * 10) / 10;
      const entry = (await run) as SegmentEntry;
      this.chain = { of: projections, segments: [...plan.keep, entry], lastStart: plan.lastStart, saved: plan.counts };
      this.savedPosition = position;
      this.savedEvents = events;
      this.last = { position, savedAt: new Date(), events };
      const ms = Math.round(performance.now() - started);
      const segment = { events: entry.events, bytes: entry.bytes, merged: plan.merged, segments: this.chain.segments.length };
      this.logger.info({ position: position.toString(), events, segment, snapshotMs, paced, ms }, 'projection checkpoint saved');
    } catch (error) {
      this.logger.error({ err: error }, 'projection checkpoint could not be saved; will retry');
    }
  }

  /**
   * What this save writes: each robot's events from `from` on, as a segment after `keep`. It
   * continues the chain when the chain describes these projections: in place of the last segment
   * while the two fit in segmentEvents, else after it. Otherwise everything, as a new chain.
   */
  private plan(projections: Projections) {
    const robots = Array.from(projections.allRobots());
    const counts = new Map<string, number>();
    for (const robot of robots) counts.set(robot.name, robot.eventCount);
    const chain = this.chain?.of === projections ? this.chain : null;
    const last = chain?.segments.at(-1);
    // The chain's saved counts add up to savedEvents: what is new is the difference.
    const merged = last !== undefined && last.events + projections.eventCount - this.savedEvents <= this.segmentEvents;
    const lastStart: ReadonlyMap<string, number> = chain === null ? new Map() : merged ? chain.lastStart : chain.saved;
    const from = (robot: RobotProjection): number => lastStart.get(robot.name) ?? 0;
    const keep = chain === null ? [] : merged ? chain.segments.slice(0, -1) : chain.segments;
    const previous = this.chain?.segments ?? [];
    const drop = chain === null ? previous.map((s) => s.file) : merged ? [last!.file] : [];
    return { robots, from, counts, keep, lastStart, drop, merged };
  }

  /** Records that the projections were loaded from a checkpoint, saved at `savedAt`. */
  loaded(checkpoint: LoadedCheckpoint, savedAt: Date): void {
    const { projections, segments, lastStart } = checkpoint;
    const saved = new Map<string, number>();
    for (const robot of projections.allRobots()) saved.set(robot.name, robot.eventCount);
    this.chain = segments === null ? null : { of: projections, segments, lastStart, saved };
    this.savedPosition = projections.position;
    this.savedEvents = projections.eventCount;
    this.last = { position: projections.position, savedAt, events: projections.eventCount };
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
