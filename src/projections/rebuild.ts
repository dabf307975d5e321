// Full rebuild of the read models from the log, on piscina worker threads partitioned by robot.
// Robots are split into more partitions than threads so progress can be reported as partitions
// finish, and a slow partition does not leave a core idle.

import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { Piscina } from 'piscina';
import { workerEntry } from '../runtime/worker-entry.js';
import { LOG_START, type EventLog } from '../store/event-log.js';
import type { LogSpec } from '../store/log-spec.js';
import type { ProjectedPartition } from './project-streams.js';
import { Projections } from './projections.js';
import { RobotProjection } from './robot-projection.js';

const PARTITIONS_PER_THREAD = 2;
const HEAD_LOOKUPS_AT_ONCE = 64;

export interface RebuildProgress {
  readonly eventsDone: number;
  readonly eventsTotal: number;
  readonly streamsDone: number;
  readonly streamsTotal: number;
}

export interface RebuildOptions {
  readonly log: EventLog;
  readonly spec: LogSpec;
  readonly logger: Logger;
  /** Worker threads; defaults to one per core. */
  readonly threads?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
}

/**
 * Projects every stream as of now. The result's position is the log's last position read before
 * the workers started: workers may see later commits too, which is harmless because projections
 * skip events they already hold when a follower replays from that position.
 */
export async function rebuildProjections(options: RebuildOptions): Promise<Projections> {
  const { log, spec } = options;
  const started = performance.now();
  if ((await log.lastPosition()) === LOG_START) {
    options.onProgress?.({ eventsDone: 0, eventsTotal: 0, streamsDone: 0, streamsTotal: 0 });
    return new Projections(); // an empty log: no threads to start
  }
  const threads = Math.max(1, options.threads ?? availableParallelism());
  // Threads start now, loading their modules while this thread lists and counts the streams.
  const entry = workerEntry(spec.kind === 'sqlite' ? 'rebuild-sqlite' : 'rebuild-eventstoredb');
  const pool = new Piscina({ filename: entry.filename, execArgv: entry.execArgv, minThreads: threads, maxThreads: threads });
  try {
    return await rebuildWith(pool, threads, options, started);
  } finally {
    await pool.destroy();
  }
}

async function rebuildWith(pool: Piscina, threads: number, options: RebuildOptions, started: number): Promise<Projections> {
  const { log, spec, logger } = options;
  const position = await log.lastPosition();
  const streams = await log.listStreams();
  const projections = new Projections();
  projections.position = position;
  const eventsTotal = await countEvents(log, streams);
  const progress = { eventsDone: 0, eventsTotal, streamsDone: 0, streamsTotal: streams.length };
  options.onProgress?.({ ...progress });
  if (streams.length === 0) return projections;

  const partitionCount = Math.min(streams.length, threads * PARTITIONS_PER_THREAD);
  const partitions: string[][] = Array.from({ length: partitionCount }, () => []);
  streams.forEach((stream, i) => partitions[i % partitionCount]!.push(stream));

  logger.info({ streams: streams.length, events: eventsTotal, threads, position: position.toString() }, 'rebuilding projections');
  const results = await Promise.all(
    partitions.map(async (part) => {
      const result = (await pool.run({ log: spec, streams: part })) as ProjectedPartition;
      progress.streamsDone += part.length;
      progress.eventsDone += result.ts.length;
      options.onProgress?.({ ...progress });
      logger.info({ ...progress }, 'rebuild progress');
      return result;
    }),
  );
  for (const part of results) adoptPartition(projections, part);
  const seconds = (performance.now() - started) / 1000;
  logger.info(
    {
      robots: projections.robotCount,
      events: projections.eventCount,
      seconds: Number(seconds.toFixed(3)),
      events_per_s: Math.round(projections.eventCount / Math.max(seconds, 1e-6)),
    },
    'projections rebuilt',
  );
  return projections;
}

/** Events in the log now: the sum of the stream heads (a lower bound of what workers will see). */
async function countEvents(log: EventLog, streams: readonly string[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < streams.length; i += HEAD_LOOKUPS_AT_ONCE) {
    const heads = await Promise.all(streams.slice(i, i + HEAD_LOOKUPS_AT_ONCE).map((s) => log.head(s)));
    for (const head of heads) if (head !== null) total += Number(head.revision) + 1;
  }
  return total;
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
