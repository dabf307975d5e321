// Read-side series, read at scrape time (no timer of its own): what the serving projections hold,
// whether they reflect everything the log has committed, and by how much they trail it.

import { Gauge, type Registry } from 'prom-client';
import type { LogPosition } from '../store/event-log.js';

export interface ProjectionSource {
  /** True once the projections have caught up with the log at least once. */
  readonly isCaughtUp: boolean;
  current(): { readonly position: LogPosition; readonly eventCount: number; readonly robotCount: number };
}

export interface ProjectionMetricsOptions {
  /**
   * Whether log positions count something (SQLite: one per stored row, so the difference is rows
   * still to apply). EventStoreDB positions are byte offsets: the lag series is left out there.
   */
  readonly positionsComparable: boolean;
}

export function registerProjectionMetrics(
  registry: Registry,
  projections: ProjectionSource,
  log: { lastPosition(): Promise<LogPosition> },
  options: ProjectionMetricsOptions,
): void {
  /** The log's last position, or null while the store cannot be reached. */
  const logPosition = async (): Promise<LogPosition | null> => {
    try {
      return await log.lastPosition();
    } catch {
      return null;
    }
  };
  new Gauge({
    name: 'telemetry_projection_events',
    help: 'Events reflected in the projections reads are served from.',
    registers: [registry],
    collect() {
      this.set(projections.current().eventCount);
    },
  });
  new Gauge({
    name: 'telemetry_projection_robots',
    help: 'Robots in the projections reads are served from.',
    registers: [registry],
    collect() {
      this.set(projections.current().robotCount);
    },
  });
  new Gauge({
    name: 'telemetry_projection_caught_up',
    help: '1 when the projections reflect everything the log had committed at scrape time; 0 while starting, behind, or when the store cannot be reached.',
    registers: [registry],
    async collect() {
      const last = await logPosition();
      this.set(projections.isCaughtUp && last !== null && projections.current().position >= last ? 1 : 0);
    },
  });
  if (!options.positionsComparable) return;
  new Gauge({
    name: 'telemetry_projection_lag_positions',
    help: 'Log positions committed but not yet applied to the projections (SQLite: stored rows of up to 1,024 events). NaN while the store cannot be reached.',
    registers: [registry],
    async collect() {
      const last = await logPosition();
      if (last === null) {
        this.set(NaN); // unknown, not zero: Prometheus' convention
        return;
      }
      const behind = last - projections.current().position;
      this.set(behind > 0n ? Number(behind) : 0);
    },
  });
}
