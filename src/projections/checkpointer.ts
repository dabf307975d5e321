// Saves the projections to their checkpoint file every N events or T seconds (whichever comes
// first, and only when something changed), and once more at shutdown. One save at a time: the
// state is encoded synchronously (a consistent snapshot, since projections only change between
// turns of the event loop), then written and renamed into place asynchronously.

import type { Logger } from 'pino';
import { encodeCheckpoint } from './checkpoint/codec.js';
import { saveCheckpoint } from './checkpoint/checkpoint-file.js';
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

  /** Call after projections advance: saves once `everyEvents` events have accumulated. */
  advanced(): void {
    const events = this.projections().eventCount;
    if (this.saving === null && events - Math.max(this.savedEvents, 0) >= this.settings.everyEvents) void this.saveIfChanged();
  }

  /** Saves now unless the saved checkpoint already reflects the current position (or `force`). */
  async saveIfChanged(force = false): Promise<void> {
    if (this.saving !== null) {
      await this.saving;
      if (!force) return;
    }
    const projections = this.projections();
    if (!force && projections.position === this.savedPosition) return;
    const started = performance.now();
    const position = projections.position;
    const events = projections.eventCount;
    const bytes = encodeCheckpoint(projections, {
      projectionVersion: this.settings.projectionVersion,
      logIdentity: this.settings.logIdentity,
    });
    const saving: Promise<void> = saveCheckpoint(this.settings.dataDir, bytes)
      .then(() => {
        this.savedPosition = position;
        this.savedEvents = events;
        this.last = { position, savedAt: new Date(), events };
        this.logger.info(
          { position: position.toString(), events, bytes: bytes.byteLength, ms: Math.round(performance.now() - started) },
          'projection checkpoint saved',
        );
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'projection checkpoint could not be saved; will retry'))
      .finally(() => {
        if (this.saving === saving) this.saving = null;
      });
    this.saving = saving;
    await saving;
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
  }
}
