// One robot's read model: its timestamps and cumulative distances in typed arrays (16 bytes per
// event, no object per event), so any time-range odometer is two binary searches and a subtraction,
// and any time range maps to a revision range of the robot's stream.
//
// The arrays are a list of blocks that only ever grow by a new block: a block, once written, is
// never moved, copied or changed. Growing by reallocation would leave the old arrays as garbage the
// size of the robot's history for every growth — at hundreds of thousands of events a second that
// churn is what made the engine's full collections pause the event loop — and a checkpoint would have
// to copy every array to get a stable picture. Blocks live in shared memory, so the checkpoint thread
// reads the events written so far straight from them while new ones are appended behind
// (checkpointer.ts): the event loop copies nothing. They are carved out of large shared slabs
// (shared-memory.ts), not given a SharedArrayBuffer each: handing a thread tens of thousands of those
// cost the event loop ~100 ms per checkpoint, where a few slabs and a table of numbers cost nothing.

import { distance } from '../domain/distance.js';
import { fnv1a } from '../domain/hash.js';
import { EVENT_STRIDE } from '../domain/location.js';
import { carve, memoryId } from './shared-memory.js';

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

/** Most events in one block (1 MiB of timestamps and distances): past it, a robot adds blocks of this size. */
export const MAX_BLOCK_EVENTS = 65_536;
/** Fewest events in a block added by growth: tiny blocks would cost more in bookkeeping than they save. */
const MIN_BLOCK_EVENTS = 4;

/** Numbers per span a checkpoint snapshot records (see copySpans). */
export const SPAN_FIELDS = 5;

/** The robot's valid events as the blocks hold them: views, in order, whose lengths sum to the count. */
export interface ProjectionSpans {
  readonly timestamps: Float64Array[];
  readonly cumulative: Float64Array[];
}

export class RobotProjection {
  /** Block i holds the events from revision starts[i] on; the last block is the one written to. */
  private tsBlocks: Float64Array[] = [];
  private cumBlocks: Float64Array[] = [];
  private starts: number[] = [];
  /** Per block, where it lies (see copySpans); its last field is the block's capacity. */
  private spanTable = new Float64Array(SPAN_FIELDS * 8);
  /** Events the blocks can hold. */
  private capacity = 0;
  private count = 0;
  private lastX = 0;
  private lastY = 0;
  /** The cumulative distance of the last event (0 before any): apply continues from it without a read. */
  private total = 0;

  constructor(
    readonly name: string,
    initialCapacity = 16,
    /** How much the capacity grows with each block (see growthFactor). */
    private readonly growth = growthFactor(name),
  ) {
    if (initialCapacity > 0) this.addBlock(Math.min(initialCapacity, MAX_BLOCK_EVENTS));
  }

  /**
   * A projection over arrays built elsewhere (a rebuild worker, a checkpoint's segments): they become
   * its first blocks, in order, never written again. Arrays not in shared memory are copied into it
   * once, so that every block can be handed to the checkpoint thread without a copy.
   */
  static adopt(
    name: string,
    ts: Float64Array | readonly Float64Array[],
    cum: Float64Array | readonly Float64Array[],
    lastX: number,
    lastY: number,
  ): RobotProjection {
    const tsBlocks = ts instanceof Float64Array ? [ts] : ts;
    const cumBlocks = cum instanceof Float64Array ? [cum] : cum;
    if (tsBlocks.length !== cumBlocks.length) throw new RangeError(`adopting ${name}: ${tsBlocks.length} timestamp blocks but ${cumBlocks.length} distance blocks`);
    const projection = new RobotProjection(name, 0);
    for (let b = 0; b < tsBlocks.length; b++) {
      const blockTs = tsBlocks[b]!;
      const blockCum = cumBlocks[b]!;
      if (blockTs.length !== blockCum.length) throw new RangeError(`adopting ${name}: ${blockTs.length} timestamps but ${blockCum.length} distances`);
      if (blockTs.length === 0) continue;
      projection.pushBlock(inSharedMemory(blockTs), inSharedMemory(blockCum));
      projection.count += blockTs.length;
      projection.total = blockCum[blockTs.length - 1]!;
    }
    projection.lastX = lastX;
    projection.lastY = lastY;
    return projection;
  }

  get eventCount(): number {
    return this.count;
  }

  /**
   * The valid events as views of the blocks. They stay right while the projection grows (nothing
   * written is ever changed), and live in shared memory: posting them to a thread shares, not copies.
   */
  spans(): ProjectionSpans {
    const timestamps: Float64Array[] = [];
    const cumulative: Float64Array[] = [];
    for (let b = 0, spans = this.spanCount; b < spans; b++) {
      const used = Math.min(this.tsBlocks[b]!.length, this.count - this.starts[b]!);
      timestamps.push(this.tsBlocks[b]!.subarray(0, used));
      cumulative.push(this.cumBlocks[b]!.subarray(0, used));
    }
    return { timestamps, cumulative };
  }

  /** Blocks holding events: what copySpans writes. */
  get spanCount(): number {
    const blocks = this.tsBlocks.length;
    return blocks > 0 && this.starts[blocks - 1]! >= this.count ? blocks - 1 : blocks;
  }

  /**
   * Writes where the valid events lie, SPAN_FIELDS numbers per block from `into[at]` on: the
   * timestamps' memory id (shared-memory.ts) and byte offset, the distances' memory id and byte
   * offset, the events in it. A copy of a small table kept as blocks are added: no view is made.
   */
  copySpans(into: Float64Array, at: number): void {
    const spans = this.spanCount;
    if (spans === 0) return;
    into.set(this.spanTable.subarray(0, spans * SPAN_FIELDS), at);
    into[at + spans * SPAN_FIELDS - 1] = this.count - this.starts[spans - 1]!;
  }

  /** A copy of the timestamps of revisions [first, end). */
  copyTimestamps(first: number, end: number): Float64Array {
    const to = Math.min(end, this.count);
    const out = new Float64Array(Math.max(0, to - first));
    for (let rev = first; rev < to; ) {
      const b = this.blockOf(rev);
      const block = this.tsBlocks[b]!;
      const from = rev - this.starts[b]!;
      const take = Math.min(block.length - from, to - rev);
      out.set(block.subarray(from, from + take), rev - first);
      rev += take;
    }
    return out;
  }

  /** Coordinates of the last event applied (0, 0 before any). */
  lastPosition(): [x: number, y: number] {
    return [this.lastX, this.lastY];
  }

  /**
   * Applies `n` events starting at stream revision `firstRevision`, read from event `from` of
   * `events` (by default all of them). Events already applied are skipped, so replaying an
   * overlapping range is harmless; a gap means events were lost upstream and throws.
   */
  apply(firstRevision: number, events: Float64Array, from = 0, n = events.length / EVENT_STRIDE - from): void {
    if (firstRevision > this.count) {
      throw new Error(`projection of ${this.name} has ${this.count} events; cannot apply revision ${firstRevision}`);
    }
    const skip = this.count - firstRevision;
    if (skip >= n) return;
    let count = this.count;
    let x0 = this.lastX;
    let y0 = this.lastY;
    let total = this.total;
    let i = (from + skip) * EVENT_STRIDE;
    const end = (from + n) * EVENT_STRIDE;
    while (i < end) {
      if (count === this.capacity) this.addBlock(this.nextBlockSize());
      const b = this.tsBlocks.length - 1;
      const ts = this.tsBlocks[b]!;
      const cum = this.cumBlocks[b]!;
      const start = this.starts[b]!;
      // Fill the block as far as it and the events go, then the next.
      const stop = Math.min(end, i + (start + ts.length - count) * EVENT_STRIDE);
      let at = count - start;
      for (; i < stop; i += EVENT_STRIDE) {
        const x = events[i]!;
        const y = events[i + 1]!;
        if (count > 0) total += distance(x0, y0, x, y);
        ts[at] = events[i + 2]!;
        cum[at] = total;
        at++;
        count++;
        x0 = x;
        y0 = y;
      }
    }
    this.count = count;
    this.lastX = x0;
    this.lastY = y0;
    this.total = total;
  }

  /** Timestamp of the event at `revision` (which must exist). */
  timestampAt(revision: number): number {
    const b = this.blockOf(revision);
    return this.tsBlocks[b]![revision - this.starts[b]!]!;
  }

  /** Distance travelled from the first event to the one at `revision` (which must exist). */
  cumulativeAt(revision: number): number {
    const b = this.blockOf(revision);
    return this.cumBlocks[b]![revision - this.starts[b]!]!;
  }

  /** Revisions of the events with start ≤ timestamp ≤ end. */
  range(start: number, end: number): RevisionRange {
    const first = this.lowerBound(start);
    const last = this.lowerBound(end + 1);
    return { first, end: Math.max(first, last) };
  }

  /** Distance travelled between the first and the last event inside [start, end]. */
  odometer(start: number, end: number): number {
    const first = this.lowerBound(start);
    const stop = this.lowerBound(end + 1);
    if (stop - first < 2) return 0;
    return this.cumulativeAt(stop - 1) - this.cumulativeAt(first);
  }

  summary(): RobotSummary {
    const last = this.count - 1;
    const empty = this.count === 0;
    return {
      name: this.name,
      odometer: empty ? NaN : this.total,
      first_timestamp: empty ? NaN : this.timestampAt(0),
      last_timestamp: empty ? NaN : this.timestampAt(last),
      last_x: this.lastX,
      last_y: this.lastY,
      event_count: this.count,
    };
  }

  /** Bytes held by the index, spare capacity included. */
  get byteSize(): number {
    return 16 * this.capacity;
  }

  /** The block holding `revision` (< count): the last one for recent events, else a binary search. */
  private blockOf(revision: number): number {
    const starts = this.starts;
    let hi = starts.length - 1;
    if (revision >= starts[hi]!) return hi;
    let lo = 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= revision) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First revision whose timestamp is ≥ t (timestamps never decrease): a search over blocks, then in one. */
  private lowerBound(t: number): number {
    if (this.count === 0) return 0;
    const blocks = this.spanCount;
    let lo = 0;
    let hi = blocks;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const used = Math.min(this.tsBlocks[mid]!.length, this.count - this.starts[mid]!);
      if (this.tsBlocks[mid]![used - 1]! < t) lo = mid + 1;
      else hi = mid;
    }
    if (lo === blocks) return this.count;
    const ts = this.tsBlocks[lo]!;
    let first = 0;
    let last = Math.min(ts.length, this.count - this.starts[lo]!);
    while (first < last) {
      const mid = (first + last) >>> 1;
      if (ts[mid]! < t) first = mid + 1;
      else last = mid;
    }
    return this.starts[lo]! + first;
  }

  /** The next block: the capacity grows by the robot's factor, within [MIN_BLOCK_EVENTS, MAX_BLOCK_EVENTS]. */
  private nextBlockSize(): number {
    const grown = Math.ceil(this.capacity * (this.growth - 1));
    return Math.min(MAX_BLOCK_EVENTS, Math.max(MIN_BLOCK_EVENTS, grown));
  }

  private addBlock(events: number): void {
    const { memory, offset } = carve(16 * events);
    this.pushBlock(new Float64Array(memory, offset, events), new Float64Array(memory, offset + 8 * events, events));
  }

  private pushBlock(ts: Float64Array, cum: Float64Array): void {
    const b = this.tsBlocks.length;
    if ((b + 1) * SPAN_FIELDS > this.spanTable.length) {
      const bigger = new Float64Array(this.spanTable.length * 2);
      bigger.set(this.spanTable);
      this.spanTable = bigger;
    }
    this.spanTable.set([memoryId(ts.buffer as SharedArrayBuffer), ts.byteOffset, memoryId(cum.buffer as SharedArrayBuffer), cum.byteOffset, ts.length], b * SPAN_FIELDS);
    this.tsBlocks.push(ts);
    this.cumBlocks.push(cum);
    this.starts.push(this.capacity);
    this.capacity += ts.length;
  }
}

/** The values in shared memory: the same array when they already are, else a copy. */
function inSharedMemory(values: Float64Array): Float64Array {
  if (values.buffer instanceof SharedArrayBuffer) return values;
  const copy = new Float64Array(new SharedArrayBuffer(values.byteLength));
  copy.set(values);
  return copy;
}

/**
 * How much a robot's capacity grows with each new block: 1.3 to 1.5, by its name. The robots of a
 * fleet report at one pace; with one factor they would all fill their blocks in the same commit and
 * allocate together — a thousand robots' blocks in one turn of the event loop — where spread factors
 * make them do it a few at a time (`npx tsx bench/projection-growth.ts`, figures in BENCHMARKS.md).
 * Capacity stays within 1.5× of the events held (and one block of MAX_BLOCK_EVENTS past it).
 */
export function growthFactor(name: string): number {
  return 1.3 + (fnv1a(name) & 1023) / 5120;
}
