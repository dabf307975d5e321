// Full rebuild of the read models from the log, on piscina worker threads partitioned by robot.

import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import { workerEntry } from '../runtime/worker-entry.js';
import type { EventLog } from '../store/event-log.js';
import type { LogSpec } from '../store/log-spec.js';
import type { ProjectedPartition } from './project-streams.js';
import { Projections } from './projections.js';
import { RobotProjection } from './robot-projection.js';

export interface RebuildOptions {
  readonly log: EventLog;
  readonly spec: LogSpec;
  readonly logger: Logger;
  /** Worker threads; defaults to one per core. */
  readonly threads?: number;
}

/**
 * Projects every stream as of now. The result's position is the log's last position read before
 * the workers started: workers may see later commits too, which is harmless because projections
 * skip events they already hold when a follower replays from that position.
 */
export async function rebuildProjections(options: RebuildOptions): Promise<Projections> {
  const { log, spec, logger } = options;
  const started = performance.now();
  const position = await log.lastPosition();
  const streams = await log.listStreams();
  const projections = new Projections();
  projections.position = position;
  if (streams.length === 0) return projections;

  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), streams.length));
  const partitions: string[][] = Array.from({ length: threads }, () => []);
  streams.forEach((stream, i) => partitions[i % threads]!.push(stream));

  logger.info({ streams: streams.length, threads, position: position.toString() }, 'rebuilding projections');
  const entry = workerEntry('rebuild-projection');
  const pool = new Piscina({ filename: entry.filename, execArgv: entry.execArgv, minThreads: threads, maxThreads: threads });
  try {
    let done = 0;
    const results = await Promise.all(
      partitions.map(async (part) => {
        const result = (await pool.run({ log: spec, streams: part })) as ProjectedPartition;
        done += part.length;
        logger.info({ streams: done, of: streams.length }, 'rebuild progress');
        return result;
      }),
    );
    for (const part of results) adoptPartition(projections, part);
  } finally {
    await pool.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  logger.info(
    { robots: projections.robotCount, events: projections.eventCount, seconds: Number(seconds.toFixed(3)) },
    'projections rebuilt',
  );
  return projections;
}

function adoptPartition(projections: Projections, part: ProjectedPartition): void {
  for (let i = 0; i < part.names.length; i++) {
    const from = part.offsets[i]!;
    const to = part.offsets[i + 1]!;
    projections.add(
      RobotProjection.adopt(part.names[i]!, part.ts.subarray(from, to), part.cum.subarray(from, to), part.lastXY[2 * i]!, part.lastXY[2 * i + 1]!),
    );
  }
}
