// The actor's decision rule, pure: given a stream head and a run of events in arrival order, which
// events are stored and which are duplicates or stale. No I/O and no allocation, so it is tested
// exhaustively and runs once per robot per commit round without feeding the garbage collector.

import { EVENT_STRIDE } from '../domain/location.js';

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

/** The stream's last event; `timestamp` -1 when the stream is empty (timestamps are ≥ 0). */
export interface DecisionHead {
  readonly x: number;
  readonly y: number;
  readonly timestamp: number;
}

/**
 * Decides events `from` to `from + count - 1` of `events` (packed (x, y, timestamp) triples)
 * against `head`. Writes one verdict per event into `verdicts` from index `verdictsAt`, and the
 * accepted events, packed, into `accepted` from event `acceptedAt`. Returns how many it accepted.
 */
export function decide(
  head: DecisionHead,
  events: Float64Array,
  from: number,
  count: number,
  verdicts: Uint8Array,
  verdictsAt: number,
  accepted: Float64Array,
  acceptedAt: number,
): number {
  const headT = head.timestamp;
  let lastT = headT;
  let n = 0;
  for (let i = 0; i < count; i++) {
    const at = (from + i) * EVENT_STRIDE;
    const x = events[at]!;
    const y = events[at + 1]!;
    const t = events[at + 2]!;
    let verdict: number;
    if (t > lastT) {
      const out = (acceptedAt + n) * EVENT_STRIDE;
      accepted[out] = x;
      accepted[out + 1] = y;
      accepted[out + 2] = t;
      n++;
      lastT = t;
      verdict = Verdict.Accept;
    } else if (t > headT) {
      const j = findTimestamp(accepted, n, t, acceptedAt);
      verdict =
        j >= 0 && accepted[j * EVENT_STRIDE] === x && accepted[j * EVENT_STRIDE + 1] === y
          ? Verdict.DuplicateOfBatch
          : Verdict.Stale;
    } else if (t === headT) {
      verdict = head.x === x && head.y === y ? Verdict.Duplicate : Verdict.Stale;
    } else {
      verdict = Verdict.NeedsHistory;
    }
    verdicts[verdictsAt + i] = verdict;
  }
  return n;
}

/**
 * Index of the event with timestamp `t` among events `first` to `first + count - 1` of a packed
 * block whose timestamps increase, or -1.
 */
export function findTimestamp(block: Float64Array, count: number, t: number, first = 0): number {
  let lo = first;
  let hi = first + count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const value = block[mid * EVENT_STRIDE + 2]!;
    if (value === t) return mid;
    if (value < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
