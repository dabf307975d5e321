// All robots' read models and the log position they reflect.

import { EVENT_STRIDE } from '../domain/location.js';
import { LOG_START, type ChunkColumns, type LogPosition, type RecordedChunk } from '../store/event-log.js';
import { RobotProjection, type RobotSummary } from './robot-projection.js';

export class Projections {
  private readonly robots = new Map<string, RobotProjection>();
  private sortedNames: string[] | null = [];
  private events = 0;
  /** Every chunk at or before this position is reflected. */
  position: LogPosition = LOG_START;

  /** Applies committed chunks, in log order. */
  apply(chunks: readonly RecordedChunk[]): void {
    for (const chunk of chunks) {
      this.applyTo(chunk.stream, Number(chunk.firstRevision), chunk.events, 0, chunk.events.length / EVENT_STRIDE);
      if (chunk.position > this.position) this.position = chunk.position;
    }
  }

  /** Applies committed chunks given as columns (the embedded log's own commits), in log order. */
  applyColumns(columns: ChunkColumns): void {
    for (let i = 0; i < columns.count; i++) {
      this.applyTo(columns.streams[i]!, columns.firstRevisions[i]!, columns.events, columns.eventStarts[i]!, columns.counts[i]!);
    }
    if (columns.count === 0) return;
    const last = BigInt(columns.positions[columns.count - 1]!);
    if (last > this.position) this.position = last;
  }

  /** `n` events of `stream` from `firstRevision`, read from event `from` of `events`. */
  private applyTo(stream: string, firstRevision: number, events: Float64Array, from: number, n: number): void {
    let robot = this.robots.get(stream);
    if (robot === undefined) robot = this.add(new RobotProjection(stream));
    const before = robot.eventCount;
    robot.apply(firstRevision, events, from, n);
    this.events += robot.eventCount - before;
  }

  add(robot: RobotProjection): RobotProjection {
    this.robots.set(robot.name, robot);
    this.events += robot.eventCount;
    this.sortedNames = null;
    return robot;
  }

  get(name: string): RobotProjection | undefined {
    return this.robots.get(name);
  }

  /** Every robot, by name. */
  list(): RobotSummary[] {
    if (this.sortedNames === null) this.sortedNames = [...this.robots.keys()].sort();
    return this.sortedNames.map((name) => this.robots.get(name)!.summary());
  }

  /** Every robot's projection, in no particular order. */
  allRobots(): IterableIterator<RobotProjection> {
    return this.robots.values();
  }

  get robotCount(): number {
    return this.robots.size;
  }

  get eventCount(): number {
    return this.events;
  }
}
