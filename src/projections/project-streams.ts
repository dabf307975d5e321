// Builds the read models of a set of streams straight from the log: the work of one rebuild
// worker. The result packs every robot's arrays into a few large buffers so it crosses the thread
// boundary without cloning each event: the timestamps and distances in shared memory, where the
// robots' projections keep them as their first blocks (and checkpoints read them without a copy).

import { distance } from '../domain/distance.js';
import { EVENT_STRIDE } from '../domain/location.js';
import type { EventLog } from '../store/event-log.js';

const PAGE = 65_536;

export interface ProjectedPartition {
  readonly names: string[];
  /** Robot i's events are [offsets[i], offsets[i + 1]) of ts and cum. */
  readonly offsets: Float64Array;
  readonly ts: Float64Array;
  readonly cum: Float64Array;
  /** Robot i's last position is lastXY[2i], lastXY[2i + 1]. */
  readonly lastXY: Float64Array;
}

export async function projectStreams(log: EventLog, streams: readonly string[]): Promise<ProjectedPartition> {
  const names: string[] = [];
  const lengths: number[] = [];
  for (const stream of streams) {
    const head = await log.head(stream);
    if (head === null) continue;
    names.push(stream);
    lengths.push(Number(head.revision) + 1);
  }
  const offsets = new Float64Array(names.length + 1);
  for (let i = 0; i < names.length; i++) offsets[i + 1] = offsets[i]! + lengths[i]!;
  const total = offsets[names.length]!;
  const ts = new Float64Array(new SharedArrayBuffer(8 * total));
  const cum = new Float64Array(new SharedArrayBuffer(8 * total));
  const lastXY = new Float64Array(names.length * 2);

  for (let r = 0; r < names.length; r++) {
    const start = offsets[r]!;
    const length = lengths[r]!;
    let k = 0;
    let x0 = 0;
    let y0 = 0;
    let sum = 0;
    // Events past the head read above (appended since) are left to the log follower.
    const add = (events: Float64Array): void => {
      const n = Math.min(events.length, (length - k) * EVENT_STRIDE);
      for (let i = 0; i < n; i += EVENT_STRIDE) {
        const x = events[i]!;
        const y = events[i + 1]!;
        if (k > 0) sum += distance(x0, y0, x, y);
        ts[start + k] = events[i + 2]!;
        cum[start + k] = sum;
        x0 = x;
        y0 = y;
        k++;
      }
    };
    if (log.scanStream !== undefined) {
      await log.scanStream(names[r]!, add);
    } else {
      while (k < length) {
        const chunk = await log.readStream(names[r]!, BigInt(k), Math.min(PAGE, length - k));
        if (chunk === null) break;
        add(chunk.events);
      }
    }
    if (k !== length) throw new Error(`stream ${names[r]} ended at ${k} events; its head said ${length}`);
    lastXY[2 * r] = x0;
    lastXY[2 * r + 1] = y0;
  }
  return { names, offsets, ts, cum, lastXY };
}
