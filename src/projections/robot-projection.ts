// One robot's read model: its timestamps and cumulative distances in typed arrays (16 bytes per
// event, no object per event), so any time-range odometer is two binary searches and a subtraction,
// and any time range maps to a revision range of the robot's stream.

import { distance } from '../domain/distance.js';
import { fnv1a } from '../domain/hash.js';
import { EVENT_STRIDE } from '../domain/location.js';

export interface RobotSummary {
  readonly name: string;
  readonly odometer: number;
  readonly first_timestamp: number;
  readonly last_timestamp: number;
  readonly last_x: number;
  readonly last_y: number;
  readonly event_count: number;
}

/** Revisions [first, end) of the events inside a time range. */
export interface RevisionRange {
  readonly first: number;
  readonly end: number;
}

export class RobotProjection {
  private ts: Float64Array;
  private cum: Float64Array;
  private count = 0;
  private lastX = 0;
  private lastY = 0;

  constructor(
    readonly name: string,
    initialCapacity = 16,
    /** How much the arrays grow when full (see growthFactor). */
    private readonly growth = growthFactor(name),
  ) {
    this.ts = new Float64Array(initialCapacity);
    this.cum = new Float64Array(initialCapacity);
  }

  /** A projection over arrays built elsewhere (a rebuild worker); they are owned from now on. */
  static adopt(name: string, ts: Float64Array, cum: Float64Array, lastX: number, lastY: number): RobotProjection {
    const projection = new RobotProjection(name, 0);
    projection.ts = ts;
    projection.cum = cum;
    projection.count = ts.length;
    projection.lastX = lastX;
    projection.lastY = lastY;
    return projection;
  }

  get eventCount(): number {
    return this.count;
  }

  /** The valid timestamps, as a view (not a copy): read-only, and stale after the next apply. */
  timestamps(): Float64Array {
    return this.ts.subarray(0, this.count);
  }

  /** The valid cumulative distances, as a view (not a copy): read-only, and stale after the next apply. */
  cumulative(): Float64Array {
    return this.cum.subarray(0, this.count);
  }

  /** Coordinates of the last event applied (0, 0 before any). */
  lastPosition(): [x: number, y: number] {
    return [this.lastX, this.lastY];
  }

  /**
   * Applies events starting at stream revision `firstRevision`. Events already applied are skipped,
   * so replaying an overlapping range is harmless; a gap means events were lost upstream and throws.
   */
  apply(firstRevision: number, events: Float64Array): void {
    const n = events.length / EVENT_STRIDE;
    if (firstRevision > this.count) {
      throw new Error(`projection of ${this.name} has ${this.count} events; cannot apply revision ${firstRevision}`);
    }
    const skip = this.count - firstRevision;
    if (skip >= n) return;
    this.reserve(this.count + n - skip);
    let count = this.count;
    let x0 = this.lastX;
    let y0 = this.lastY;
    let total = count === 0 ? 0 : this.cum[count - 1]!;
    for (let i = skip * EVENT_STRIDE; i < events.length; i += EVENT_STRIDE) {
      const x = events[i]!;
      const y = events[i + 1]!;
      if (count > 0) total += distance(x0, y0, x, y);
      this.ts[count] = events[i + 2]!;
      this.cum[count] = total;
      count++;
      x0 = x;
      y0 = y;
    }
    this.count = count;
    this.lastX = x0;
    this.lastY = y0;
  }

  /** Timestamp of the event at `revision` (which must exist). */
  timestampAt(revision: number): number {
    return this.ts[revision]!;
  }

  /** Revisions of the events with start ≤ timestamp ≤ end. */
  range(start: number, end: number): RevisionRange {
    const first = this.lowerBound(start);
    const last = this.lowerBound(end + 1);
    return { first, end: Math.max(first, last) };
  }

  /** Distance travelled between the first and the last event inside [start, end]. */
  odometer(start: number, end: number): number {
    const { first, end: stop } = this.range(start, end);
    if (stop - first < 2) return 0;
    return this.cum[stop - 1]! - this.cum[first]!;
  }

  summary(): RobotSummary {
    const last = this.count - 1;
    return {
      name: this.name,
      odometer: this.cum[last]!,
      first_timestamp: this.ts[0]!,
      last_timestamp: this.ts[last]!,
      last_x: this.lastX,
      last_y: this.lastY,
      event_count: this.count,
    };
  }

  /** Bytes held by the index, spare capacity included. */
  get byteSize(): number {
    return this.ts.byteLength + this.cum.byteLength;
  }

  /** First index whose timestamp is ≥ t. */
  private lowerBound(t: number): number {
    let lo = 0;
    let hi = this.count;
    const ts = this.ts;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private reserve(capacity: number): void {
    if (capacity <= this.ts.length) return;
    const next = Math.max(capacity, Math.ceil(this.ts.length * this.growth), 16);
    const ts = new Float64Array(next);
    ts.set(this.ts.subarray(0, this.count));
    const cum = new Float64Array(next);
    cum.set(this.cum.subarray(0, this.count));
    this.ts = ts;
    this.cum = cum;
  }
}

/**
 * How much a robot's arrays grow when full: 1.3 to 1.5, by its name. The robots of a fleet report at
 * one pace; with one factor they would all outgrow their arrays in the same commit and reallocate
 * together — a thousand robots' copies in one turn of the event loop — where spread factors make
 * them do it a few at a time (`npx tsx bench/projection-growth.ts`, figures in BENCHMARKS.md).
 * Capacity stays within 1.5× of the events held.
 */
export function growthFactor(name: string): number {
  return 1.3 + (fnv1a(name) & 1023) / 5120;
}
