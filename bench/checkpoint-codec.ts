// Checkpoint encode/decode time for R robots × E events, each beside its floor measured in the same
// run: SHA-256 of the same bytes (both sides hash everything) and a plain copy of them.
//
//   npx tsx bench/checkpoint-codec.ts [--robots 1000] [--events 1000] [--runs 15]

import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, encodeCheckpoint } from '../src/projections/checkpoint/codec.js';
import { Projections } from '../src/projections/projections.js';
import { RobotProjection } from '../src/projections/robot-projection.js';

const { values } = parseArgs({
  options: {
    robots: { type: 'string', default: '1000' },
    events: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '15' },
  },
});
const robots = Number(values.robots);
const events = Number(values.events);
const runs = Number(values.runs);
const meta = { projectionVersion: 1, logIdentity: 'bench-log' };

const projections = new Projections();
const packed = new Float64Array(events * 3);
for (let r = 0; r < robots; r++) {
  for (let i = 0; i < events; i++) {
    packed[i * 3] = Math.cos(i + r);
    packed[i * 3 + 1] = Math.sin(i * 0.7 + r);
    packed[i * 3 + 2] = 1_700_000_000_000 + i * 10;
  }
  const robot = new RobotProjection(`robot-${r}`, events);
  robot.apply(0, packed);
  projections.add(robot);
}
projections.position = 2n ** 80n + 1n;

/** Median milliseconds of `runs` calls, after one warm-up. */
function median(label: string, fn: () => unknown): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1]!;
  console.log(`${label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms (median of ${runs})`);
  return ms;
}

const bytes = encodeCheckpoint(projections, meta);
const unaligned = Buffer.alloc(bytes.length + 8).subarray(3, 3 + bytes.length);
bytes.copy(unaligned);
console.log(`${robots} robots × ${events} events: checkpoint ${(bytes.length / 2 ** 20).toFixed(1)} MiB, node ${process.version}`);
median('encode', () => encodeCheckpoint(projections, meta));
median('decode (aligned: views, no copy)', () => decodeCheckpoint(bytes, meta));
median('decode (unaligned: one copy)', () => decodeCheckpoint(unaligned, meta));
median('floor: SHA-256 of the bytes', () => createHash('sha256').update(bytes).digest());
median('floor: copy of the bytes', () => Buffer.from(bytes));
