// Owns the read side: which projections are current, how they start (newest valid checkpoint plus
// the log's tail, or a full rebuild), how they follow the log, when they are checkpointed, and
// rebuilds on demand — built beside the current projections, which keep serving reads, and swapped
// in atomically once the new ones have caught up.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { hasCode } from '../domain/errors.js';
import type { EventLog, LogPosition } from '../store/event-log.js';
import type { LogSpec } from '../store/log-spec.js';
import { loadCheckpoint, namedSegments, type LoadedCheckpoint } from './checkpoint/checkpoint-chain.js';
import { checkpointSavedAt, removeAbandonedFiles } from './checkpoint/checkpoint-file.js';
import { Checkpointer, type CheckpointInfo } from './checkpointer.js';
import { LogFollower } from './log-follower.js';
import { Projections } from './projections.js';
import { rebuildProjections, type RebuildProgress } from './rebuild.js';

/**
 * Bump when what a projection holds, or how it is computed, changes: checkpoints of another
 * version are rebuilt instead of loaded.
 */
export const PROJECTION_VERSION = 1;

export interface ProjectionSettings {
  readonly dataDir: string;
  readonly rebuildThreads: number | undefined;
  readonly forceRebuild: boolean;
  readonly checkpointEveryEvents: number;
  readonly checkpointEverySeconds: number;
}

export interface RebuildJob {
  readonly id: string;
  state: 'running' | 'completed' | 'failed';
  readonly reason: string;
  readonly startedAt: Date;
  finishedAt: Date | null;
  progress: RebuildProgress;
  error: string | null;
}

export interface ProjectionStatus {
  readonly version: number;
  readonly status: 'starting' | 'rebuilding' | 'ready';
  readonly position: LogPosition;
  readonly logPosition: LogPosition | null;
  readonly robots: number;
  readonly events: number;
  readonly checkpoint: CheckpointInfo | null;
  readonly job: RebuildJob | null;
}

export class ProjectionService {
  private projections = new Projections();
  private follower: LogFollower | undefined;
  private checkpointer: Checkpointer | undefined;
  private job: RebuildJob | null = null;
  private ready = false;
  private stopped = false;
  private readonly changeListeners: Array<(robot: string) => void> = [];

  constructor(
    private readonly log: EventLog,
    private readonly spec: LogSpec,
    private readonly settings: ProjectionSettings,
    private readonly logger: Logger,
  ) {}

  /** The projections reads are served from. */
  current(): Projections {
    return this.projections;
  }

  /** Loads the checkpoint or rebuilds, then follows the log; resolves once caught up. */
  async start(): Promise<void> {
    const identity = await this.log.identity();
    this.checkpointer = new Checkpointer(
      {
        dataDir: this.settings.dataDir,
        everyEvents: this.settings.checkpointEveryEvents,
        everySeconds: this.settings.checkpointEverySeconds,
        projectionVersion: PROJECTION_VERSION,
        logIdentity: identity,
      },
      () => this.projections,
      this.logger,
    );
    const loaded = this.settings.forceRebuild ? null : await this.loadCheckpoint(identity);
    if (loaded === null) {
      const reason = this.settings.forceRebuild ? 'TELEMETRY_REBUILD_PROJECTIONS=1' : 'no usable checkpoint';
      const job = this.newJob(reason);
      this.projections = await this.rebuild(job);
      ProjectionService.complete(job);
    } else {
      this.projections = loaded.projections;
      this.checkpointer.loaded(loaded, (await checkpointSavedAt(this.settings.dataDir)) ?? new Date());
    }
    this.follower = this.newFollower(this.projections);
    await this.follower.start();
    this.ready = true;
    this.checkpointer.start();
    if (loaded === null) await this.checkpointer.saveIfChanged(true);
  }

  /** Starts a full rebuild beside the current projections; null when one is already running. */
  requestRebuild(reason: string): RebuildJob | null {
    if (this.job?.state === 'running' || !this.ready) return null;
    const job = this.newJob(reason);
    void this.rebuildAndSwap(job);
    return job;
  }

  /**
   * Calls `listener` with a robot's name each time committed events of that robot have been applied
   * to the serving projections (once per chunk, not per event; the live feed reads the position
   * from the projections later, so nothing is copied here).
   */
  onRobotChanged(listener: (robot: string) => void): void {
    this.changeListeners.push(listener);
  }

  /** Resolves once projections reflect everything the log has committed so far. */
  async whenProjected(): Promise<void> {
    const target = await this.log.lastPosition();
    await this.follower?.reached(target);
  }

  get isCaughtUp(): boolean {
    return this.ready && (this.follower?.isCaughtUp ?? false);
  }

  async status(): Promise<ProjectionStatus> {
    let logPosition: LogPosition | null = null;
    try {
      logPosition = await this.log.lastPosition();
    } catch {
      logPosition = null; // the store is unreachable: lag unknown
    }
    return {
      version: PROJECTION_VERSION,
      status: !this.ready ? 'starting' : this.job?.state === 'running' ? 'rebuilding' : 'ready',
      position: this.projections.position,
      logPosition,
      robots: this.projections.robotCount,
      events: this.projections.eventCount,
      checkpoint: this.checkpointer?.lastSaved ?? null,
      job: this.job,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.follower?.stop();
    if (this.ready) await this.checkpointer?.stop();
  }

  private async loadCheckpoint(identity: string): Promise<LoadedCheckpoint | null> {
    const { dataDir } = this.settings;
    const abandoned = await removeAbandonedFiles(dataDir, await namedSegments(dataDir));
    if (abandoned > 0) this.logger.info({ files: abandoned }, 'removed checkpoint files left by an interrupted save');
    let loaded: LoadedCheckpoint | null;
    try {
      loaded = await loadCheckpoint(dataDir, { projectionVersion: PROJECTION_VERSION, logIdentity: identity });
    } catch (error) {
      if (hasCode(error, 'CHECKPOINT_INVALID')) {
        this.logger.warn({ err: error }, `projection checkpoint rejected (${(error as Error).message}); rebuilding from the log`);
      } else {
        this.logger.warn({ err: error }, 'projection checkpoint unreadable; rebuilding from the log');
      }
      return null;
    }
    if (loaded === null) {
      this.logger.info('no projection checkpoint; rebuilding from the log');
      return null;
    }
    const { projections } = loaded;
    const last = await this.log.lastPosition();
    if (projections.position > last) {
      this.logger.warn(
        { checkpoint: projections.position.toString(), log: last.toString() },
        'projection checkpoint is ahead of the log (the log was replaced?); rebuilding from the log',
      );
      return null;
    }
    this.logger.info(
      { position: projections.position.toString(), robots: projections.robotCount, events: projections.eventCount, segments: loaded.segments?.length ?? 1 },
      'projection checkpoint loaded; replaying the log after it',
    );
    return loaded;
  }

  private newJob(reason: string): RebuildJob {
    this.job = {
      id: randomUUID(),
      state: 'running',
      reason,
      startedAt: new Date(),
      finishedAt: null,
      progress: { eventsDone: 0, eventsTotal: 0, streamsDone: 0, streamsTotal: 0 },
      error: null,
    };
    return this.job;
  }

  /** Runs a full rebuild for `job`, reporting progress on it; marks it failed if it throws. */
  private async rebuild(job: RebuildJob): Promise<Projections> {
    this.logger.info({ job: job.id, reason: job.reason }, 'projection rebuild started');
    try {
      return await rebuildProjections({
        log: this.log,
        spec: this.spec,
        logger: this.logger,
        threads: this.settings.rebuildThreads,
        onProgress: (progress) => (job.progress = progress),
      });
    } catch (error) {
      job.state = 'failed';
      job.error = error instanceof Error ? error.message : String(error);
      job.finishedAt = new Date();
      throw error;
    }
  }

  private static complete(job: RebuildJob): void {
    job.state = 'completed';
    job.finishedAt = new Date();
  }

  /** Rebuilds beside the current projections, lets the new ones catch up, then swaps them in. */
  private async rebuildAndSwap(job: RebuildJob): Promise<void> {
    try {
      const rebuilt = await this.rebuild(job);
      const follower = this.newFollower(rebuilt);
      await follower.start();
      if (this.stopped) {
        await follower.stop();
        return;
      }
      const previous = this.follower;
      this.projections = rebuilt;
      this.follower = follower;
      await previous?.stop();
      ProjectionService.complete(job);
      this.logger.info({ job: job.id, robots: rebuilt.robotCount, events: rebuilt.eventCount }, 'rebuilt projections swapped in');
      await this.checkpointer?.saveIfChanged(true);
    } catch (error) {
      if (job.state === 'running') {
        job.state = 'failed';
        job.error = error instanceof Error ? error.message : String(error);
        job.finishedAt = new Date();
      }
      this.logger.error({ err: error, job: job.id }, 'projection rebuild failed; the current projections keep serving');
    }
  }

  private newFollower(projections: Projections): LogFollower {
    return new LogFollower(this.log, projections, this.logger, (streams, count) => {
      // A rebuild's follower catches up beside the serving one: only the serving one reports.
      if (projections !== this.projections) return;
      this.checkpointer?.advanced();
      const listeners = this.changeListeners;
      if (listeners.length === 0) return;
      for (let i = 0; i < count; i++) {
        for (const listener of listeners) listener(streams[i]!);
      }
    });
  }
}
