// Saves the projections to their checkpoint file every T seconds, and sooner once enough new events
// have arrived (only when something changed), and once more at shutdown. One save at a time: the
// event loop copies the robots' arrays a slice of the fleet per turn (COPY_SLICE_EVENTS), so ingest
// is never paused for the whole copy (20–33 ms for 1–2.7M events in one piece; BENCHMARKS.md); a
// worker thread lays the copy out, hashes it and writes it into place. The checkpoint names the
// position read before the first slice: robots copied later may hold newer events as well, and
// replaying from that position after a restart re-delivers them to projections that skip what they
// already have.
//
// "Enough new events" is N, or as many as the last checkpoint held, whichever is more. A save copies
// every event, so with a fixed N its cost per ingested event would grow with the fleet's history;
// this way it stays bounded (at most two copies per event over the log's life), and a fleet with
// 10,000,000 events is not paused every couple of seconds to copy 160 MB.

import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { workerEntry } from '../runtime/worker-entry.js';
import type { CheckpointSaveTask } from './checkpoint/checkpoint-file.js';
import { robotState, type RobotState } from './checkpoint/codec.js';
import type { Projections } from './projections.js';
import type { RobotProjection } from './robot-projection.js';

/** Events' arrays copied per turn of the event loop while a checkpoint is taken (16 bytes each). */
export const COPY_SLICE_EVENTS = 131_072;

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
  /** Started on the first save; a thread only lives while there is something to save. */
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

  /** Saves now unless the saved checkpoint already reflects the current position (or `force`). */
  async saveIfChanged(force = false): Promise<void> {
    if (this.saving !== null) {
      await this.saving;
      if (!force) return;
    }
    const projections = this.projections();
    if (!force && projections.position === this.savedPosition) return;
    const saving: Promise<void> = this.save(projections).finally(() => {
      if (this.saving === saving) this.saving = null;
    });
    this.saving = saving;
    await saving;
  }

  /** Copies the projections (position first), then has the thread write them; logs either way. */
  private async save(projections: Projections): Promise<void> {
    const started = performance.now();
    const position = projections.position;
    const events = projections.eventCount;
    try {
      const { robots, slices, copiedMs } = await copyInSlices([...projections.allRobots()]);
      const { projectionVersion, logIdentity, dataDir } = this.settings;
      const task: CheckpointSaveTask = { content: { meta: { projectionVersion, logIdentity }, position: position.toString(), robots }, dataDir };
      const transfer = robots.flatMap((robot) => [robot.timestamps.buffer as ArrayBuffer, robot.cumulative.buffer as ArrayBuffer]);
      await this.savePool().run(task, { transferList: transfer });
      this.savedPosition = position;
      this.savedEvents = events;
      this.last = { position, savedAt: new Date(), events };
      const ms = Math.round(performance.now() - started);
      this.logger.info({ position: position.toString(), events, slices, copiedMs, ms }, 'projection checkpoint saved');
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
    await this.saveIfChanged();
    await this.pool?.destroy();
    this.pool = undefined;
  }

  private savePool(): Piscina {
    if (this.pool === undefined) {
      const entry = workerEntry('save-checkpoint');
      this.pool = new Piscina({ filename: entry.filename, execArgv: entry.execArgv, minThreads: 0, maxThreads: 1, idleTimeout: 5_000 });
    }
    return this.pool;
  }
}

/**
 * Copies every robot's state, yielding to the event loop after each COPY_SLICE_EVENTS events so
 * frames keep being answered; `copiedMs` is the event loop's time spent copying, slices summed.
 */
async function copyInSlices(robots: RobotProjection[]): Promise<{ robots: RobotState[]; slices: number; copiedMs: number }> {
  const copies: RobotState[] = [];
  let slices = 1;
  let copiedMs = 0;
  let sliceStart = performance.now();
  let sliceEvents = 0;
  for (const robot of robots) {
    copies.push(robotState(robot, true));
    sliceEvents += robot.eventCount;
    if (sliceEvents >= COPY_SLICE_EVENTS) {
      copiedMs += performance.now() - sliceStart;
      await new Promise<void>((resolve) => setImmediate(resolve));
      slices++;
      sliceEvents = 0;
      sliceStart = performance.now();
    }
  }
  copiedMs += performance.now() - sliceStart;
  return { robots: copies, slices, copiedMs: Math.round(copiedMs) };
}
