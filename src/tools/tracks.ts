// Plausible fleet tracks for `npm run generate`: every robot drives a random walk (bounded speed,
// acceleration and turn rate) and reports at irregular intervals; the fleet's reports come out
// interleaved in time order, as a real fleet's would arrive. Pure and deterministic: one seeded
// PRNG drawn in a fixed order, per-robot state in typed arrays, so a million events need no more
// memory than a thousand.

import { MAX_TIMESTAMP } from '../domain/location.js';
import { robotNameError } from '../domain/wire-format.js';
import { mulberry32, randomInt } from './random.js';

/** 2026-01-01T00:00:00Z: a fixed default, so the same seed gives the same file on any day. */
export const DEFAULT_START_TIME = 1_767_225_600_000;

// Reporting intervals. Every robot's first report falls before any robot's second (first reports
// are spread over [0, MIN_INTERVAL_MS)), so every robot reports whenever events >= robots.
export const MIN_INTERVAL_MS = 50;
export const MAX_INTERVAL_MS = 250;
/** Metres per second: a warehouse robot's top speed. */
export const MAX_SPEED = 2.5;
const MAX_ACCELERATION = 1.5; // m/s²
const MAX_TURN_RATE = 1.2; // rad/s
/** Robots start within this square (metres) around the origin. */
const START_SPREAD = 500;

// A few model names, one with a space and one non-ASCII, so replays exercise the whole name rule.
const MODELS = ['Atlas', 'Bender', 'Curie', 'Dædalus', 'Eve', 'Forklift 7', 'Grace', 'Hopper'];

export interface FleetOptions {
  readonly robots: number;
  readonly events: number;
  readonly seed: number;
  readonly startTime?: number;
}

/** The checks the CLI turns into exit-2 messages; null when the options are usable. */
export function fleetOptionsError(options: FleetOptions): string | null {
  const { robots, events, startTime = DEFAULT_START_TIME } = options;
  if (!Number.isSafeInteger(robots) || robots < 1 || robots > 1_000_000) return '--robots must be an integer from 1 to 1000000';
  if (!Number.isSafeInteger(events) || events < 1) return '--events must be a positive integer';
  if (events < robots) return `--events (${events}) must be at least --robots (${robots}), so that every robot reports`;
  if (!Number.isSafeInteger(options.seed)) return '--seed must be an integer';
  if (!Number.isSafeInteger(startTime) || startTime < 0) return '--start-time must be a non-negative integer (ms)';
  // No robot's clock can run past (events per robot + 1) of the longest interval after the start.
  if (startTime + (Math.ceil(events / robots) + 1) * MAX_INTERVAL_MS > MAX_TIMESTAMP) {
    return `--start-time is too late: timestamps would pass ${MAX_TIMESTAMP}`;
  }
  return null;
}

/** The name of robot `index` (0-based) in a fleet of `robots`. */
export function robotName(index: number, robots: number): string {
  const width = Math.max(3, String(robots).length);
  return `${MODELS[index % MODELS.length]}-${String(index + 1).padStart(width, '0')}`;
}

export class FleetTracks {
  readonly names: readonly string[];
  private readonly random: () => number;
  private readonly x: Float64Array;
  private readonly y: Float64Array;
  private readonly heading: Float64Array;
  private readonly speed: Float64Array;
  /** Each robot's next report time. */
  private readonly next: Float64Array;
  /** Min-heap of robot indices by (next report time, index): the next report of the fleet on top. */
  private readonly heap: Int32Array;
  private readonly total: number;
  private produced = 0;

  constructor(options: FleetOptions) {
    const problem = fleetOptionsError(options);
    if (problem !== null) throw new RangeError(problem);
    const { robots, events, seed, startTime = DEFAULT_START_TIME } = options;
    this.total = events;
    this.random = mulberry32(seed);
    const names: string[] = [];
    this.x = new Float64Array(robots);
    this.y = new Float64Array(robots);
    this.heading = new Float64Array(robots);
    this.speed = new Float64Array(robots);
    this.next = new Float64Array(robots);
    this.heap = new Int32Array(robots);
    const random = this.random;
    for (let i = 0; i < robots; i++) {
      const name = robotName(i, robots);
      const invalid = robotNameError(name);
      if (invalid !== null) throw new Error(`generated robot name "${name}" is invalid: ${invalid}`);
      names.push(name);
      this.x[i] = (random() - 0.5) * 2 * START_SPREAD;
      this.y[i] = (random() - 0.5) * 2 * START_SPREAD;
      this.heading[i] = random() * 2 * Math.PI;
      this.speed[i] = random() * MAX_SPEED;
      this.next[i] = startTime + randomInt(random, 0, MIN_INTERVAL_MS - 1);
      this.heap[i] = i;
    }
    this.names = names;
    for (let i = (robots >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get emitted(): number {
    return this.produced;
  }

  get done(): boolean {
    return this.produced >= this.total;
  }

  /** The next report as a wire-format line (no '\n'), or null when all events are out. */
  nextLine(): string | null {
    if (this.produced >= this.total) return null;
    this.produced++;
    const robot = this.heap[0]!;
    const line = `${coordinate(this.x[robot]!)},${coordinate(this.y[robot]!)},${this.next[robot]!},${this.names[robot]!}`;
    this.advance(robot);
    this.siftDown(0);
    return line;
  }

  /** Up to `maxEvents` reports, each line ending in '\n'; '' when all events are out. */
  nextChunk(maxEvents: number): string {
    let chunk = '';
    for (let i = 0; i < maxEvents; i++) {
      const line = this.nextLine();
      if (line === null) break;
      chunk += line + '\n';
    }
    return chunk;
  }

  /** Moves a robot to its next report: a new interval, a bounded turn and speed change, a step. */
  private advance(robot: number): void {
    const random = this.random;
    const intervalMs = randomInt(random, MIN_INTERVAL_MS, MAX_INTERVAL_MS);
    const seconds = intervalMs / 1000;
    const heading = this.heading[robot]! + (random() - 0.5) * 2 * MAX_TURN_RATE * seconds;
    const speed = Math.min(MAX_SPEED, Math.max(0, this.speed[robot]! + (random() - 0.5) * 2 * MAX_ACCELERATION * seconds));
    this.heading[robot] = heading;
    this.speed[robot] = speed;
    this.x[robot] = this.x[robot]! + Math.cos(heading) * speed * seconds;
    this.y[robot] = this.y[robot]! + Math.sin(heading) * speed * seconds;
    this.next[robot] = this.next[robot]! + intervalMs;
  }

  private before(a: number, b: number): boolean {
    const ta = this.next[a]!;
    const tb = this.next[b]!;
    return ta < tb || (ta === tb && a < b);
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    const item = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(heap[right]!, heap[left]!) ? right : left;
      if (!this.before(heap[child]!, item)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = item;
  }
}

/** Millimetres are plenty for a robot's position, and keep a million-line file small. */
function coordinate(value: number): string {
  // Math.round turns -0.0004 into -0, which toFixed prints as "0.000" rather than "-0.000".
  return (Math.round(value * 1000) / 1000).toFixed(3);
}
