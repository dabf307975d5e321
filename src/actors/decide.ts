// The actor's decision rule, pure: given a stream head and a batch of events in arrival order,
// which events are stored and which are duplicates or stale. No I/O, so it is tested exhaustively.

import { EVENT_STRIDE } from '../domain/location.js';
import type { StreamHead } from '../store/event-log.js';

export const Verdict = {
  /** Stored by this batch's append. */
  Accept: 0,
  /** Equal to the stored head (or a stored event): acknowledged, not stored. */
  Duplicate: 1,
  Stale: 2,
  /** Equal to an event accepted earlier in this batch: a duplicate once the batch commits. */
  DuplicateOfBatch: 3,
  /** Older than the head: only the stored history can tell duplicate from stale. */
  NeedsHistory: 4,
} as const;

export interface Decision {
  readonly verdicts: Uint8Array;
  /** Accepted events, packed (x, y, timestamp). */
  readonly accepted: Float64Array;
}

export function decide(
  head: StreamHead | null,
  xs: readonly number[],
  ys: readonly number[],
  ts: readonly number[],
  count: number,
): Decision {
  const verdicts = new Uint8Array(count);
  const packed = new Float64Array(count * EVENT_STRIDE);
  const headT = head === null ? -1 : head.timestamp;
  let lastT = headT;
  let accepted = 0;
  for (let i = 0; i < count; i++) {
    const t = ts[i]!;
    const x = xs[i]!;
    const y = ys[i]!;
    if (t > lastT) {
      const at = accepted * EVENT_STRIDE;
      packed[at] = x;
      packed[at + 1] = y;
      packed[at + 2] = t;
      accepted++;
      lastT = t;
      verdicts[i] = Verdict.Accept;
    } else if (t > headT) {
      const j = findTimestamp(packed, accepted, t);
      verdicts[i] =
        j >= 0 && packed[j * EVENT_STRIDE] === x && packed[j * EVENT_STRIDE + 1] === y
          ? Verdict.DuplicateOfBatch
          : Verdict.Stale;
    } else if (t === headT) {
      verdicts[i] = head !== null && head.x === x && head.y === y ? Verdict.Duplicate : Verdict.Stale;
    } else {
      verdicts[i] = Verdict.NeedsHistory;
    }
  }
  return { verdicts, accepted: packed.subarray(0, accepted * EVENT_STRIDE) };
}

/** Index of the event with timestamp `t` among the first `count` of a packed block, or -1. */
export function findTimestamp(block: Float64Array, count: number, t: number): number {
  let lo = 0;
  let hi = count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const value = block[mid * EVENT_STRIDE + 2]!;
    if (value === t) return mid;
    if (value < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
