// The frames one connection sends, built and masked before the run. Connection g of C owns robots
// g, g + C, g + 2C, …, so every robot has one writer. Its event stream visits its robots round-robin;
// one "cycle" of that stream is cut into a fixed set of frame slots, each masked once with its own key.
//
// Timestamps strictly increase per robot across the whole run: event j of a robot in cycle c carries
// (PREFIX + c) · 10^d + j, written with a fixed width. Moving a frame from one cycle to a later one
// only rewrites the few cycle digits that changed (usually one per event), XOR-ed with the frame's key
// at that position; no line is formatted and nothing is re-masked in the load loop.
//
// A buffer handed to the socket may still be queued in it, so it is never patched in place: each
// slot keeps a free list of copies, and a copy returns to it only when its reply arrived (the server
// received all of it).

import { OPCODE_TEXT, encodeFrame, headerLength, randomMaskKey } from './frames.js';

/** A buffer holding one frame, brought to `cycle`. */
export interface FrameCopy {
  readonly buf: Buffer;
  readonly slot: number;
  cycle: number;
}

export interface FramePoolPlan {
  readonly runId: string;
  /** This connection's index and the number of connections: it owns robots g, g + C, … below `robots`. */
  readonly connection: number;
  readonly connections: number;
  readonly robots: number;
  readonly eventsPerFrame: number;
}

/** One cycle visits each robot at least once; past this many events a cycle ends on a shorter frame instead of the exact lcm. */
const MAX_EXACT_CYCLE_EVENTS = 200_000;
/** Digits of a whole timestamp: below 2^53 (16 digits) with room to spare. */
const TIMESTAMP_DIGITS = 15;

export function robotName(runId: string, robot: number): string {
  return `bench-${runId}-${robot}`;
}

export class FramePool {
  /** Frames per cycle. */
  readonly slots: number;
  /** Events per cycle, and per slot (all `eventsPerFrame`, except maybe the last). */
  readonly eventsPerCycle: number;
  readonly eventsInSlot: Int32Array;
  /** How many frames this pool can produce before its cycle digits run out. */
  readonly maxFrames: number;

  private readonly templates: Buffer[] = [];
  private readonly keys: Buffer[] = [];
  private readonly headers: Int32Array;
  /** Per slot, the frame offset of each event's first cycle digit. */
  private readonly digitAt: Int32Array[] = [];
  private readonly free: FrameCopy[][] = [];
  private readonly prefixStart: number;
  private readonly prefixDigits: number;

  constructor(plan: FramePoolPlan) {
    const { runId, connection, connections, robots, eventsPerFrame: E } = plan;
    const R = Math.ceil((robots - connection) / connections);
    if (R < 1) throw new Error(`connection ${connection} of ${connections} owns no robot of ${robots}`);
    // Exact: every frame holds E events and a cycle is lcm(R, E) events. Too long a cycle (R and E
    // nearly coprime and large) would cost memory, so then a cycle visits each robot ceil(E / R)
    // times and its last frame is shorter.
    const exactSteps = E / gcd(R, E);
    const steps = exactSteps * R <= Math.max(MAX_EXACT_CYCLE_EVENTS, R) ? exactSteps : Math.ceil(E / R);
    const L = steps * R;
    this.eventsPerCycle = L;
    this.slots = Math.ceil(L / E);
    this.eventsInSlot = new Int32Array(this.slots);
    this.headers = new Int32Array(this.slots);

    const stepDigits = Math.max(1, String(steps - 1).length);
    this.prefixDigits = TIMESTAMP_DIGITS - stepDigits;
    this.prefixStart = 10 ** (this.prefixDigits - 1);
    this.maxFrames = Math.min(Number.MAX_SAFE_INTEGER, (9 * this.prefixStart - 1) * this.slots);
    const prefixText = String(this.prefixStart);

    for (let slot = 0; slot < this.slots; slot++) {
      const first = slot * E;
      const last = Math.min(first + E, L);
      const lines: string[] = [];
      const digits = new Int32Array(last - first);
      let offset = 0;
      for (let k = first; k < last; k++) {
        const robot = connection + (k % R) * connections;
        const step = Math.floor(k / R);
        const xy = `${(step * 7 + robot) % 100},${(step * 3 + robot) % 100},`;
        const line = `${xy}${prefixText}${String(step).padStart(stepDigits, '0')},${robotName(runId, robot)}`;
        digits[k - first] = offset + xy.length;
        offset += Buffer.byteLength(line) + 1;
        lines.push(line);
      }
      const payload = Buffer.from(lines.join('\n'), 'utf8');
      const key = randomMaskKey();
      const header = headerLength(payload.length, true);
      for (let e = 0; e < digits.length; e++) digits[e]! += header;
      this.templates.push(encodeFrame(OPCODE_TEXT, payload, key));
      this.keys.push(key);
      this.headers[slot] = header;
      this.digitAt.push(digits);
      this.eventsInSlot[slot] = last - first;
      this.free.push([]);
    }
  }

  /** The frame numbered `frame` (0, 1, 2, … in sending order): a copy of its slot, brought to its cycle. */
  take(frame: number): FrameCopy {
    if (frame >= this.maxFrames) throw new Error(`frame ${frame} is past this pool's ${this.maxFrames} frames`);
    const slot = frame % this.slots;
    const cycle = (frame - slot) / this.slots;
    const copy = this.free[slot]!.pop() ?? { buf: Buffer.from(this.templates[slot]!), slot, cycle: 0 };
    if (copy.cycle !== cycle) this.patch(copy, cycle);
    return copy;
  }

  /** Gives a copy back once the server has received all of it (its reply arrived). */
  release(copy: FrameCopy): void {
    this.free[copy.slot]!.push(copy);
  }

  /** Events in the frame numbered `frame`. */
  eventsIn(frame: number): number {
    return this.eventsInSlot[frame % this.slots]!;
  }

  private patch(copy: FrameCopy, cycle: number): void {
    const { buf, slot } = copy;
    const key = this.keys[slot]!;
    const header = this.headers[slot]!;
    const positions = this.digitAt[slot]!;
    let from = this.prefixStart + copy.cycle;
    let to = this.prefixStart + cycle;
    for (let digit = this.prefixDigits - 1; from !== to; digit--) {
      const a = from % 10;
      const b = to % 10;
      if (a !== b) {
        const ascii = 0x30 + b;
        for (let e = 0; e < positions.length; e++) {
          const at = positions[e]! + digit;
          buf[at] = ascii ^ key[(at - header) & 3]!;
        }
      }
      from = (from - a) / 10;
      to = (to - b) / 10;
    }
    copy.cycle = cycle;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
