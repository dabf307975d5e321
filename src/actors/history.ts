// Looks up stored events by timestamp, for events older than a robot's head.
//
// A stream's timestamps strictly increase with its revisions (the actor stores nothing else), so
// the revision of a timestamp is found by binary search over the stream. Resends come in runs, so
// a run close to the head is answered from one slice read from its earliest timestamp to the head;
// deeper lookups binary-search each timestamp (O(log n) point reads each).

import { EVENT_STRIDE } from '../domain/location.js';
import type { EventLog } from '../store/event-log.js';
import { findTimestamp } from './decide.js';

const SLICE_LIMIT = 128;

/** For each timestamp of `wanted`, whether the stream holds an event there at the same x and y. */
export async function matchStoredEvents(
  log: EventLog,
  stream: string,
  headRevision: bigint,
  wanted: ReadonlyArray<{ x: number; y: number; t: number }>,
): Promise<boolean[]> {
  let minT = Infinity;
  for (const w of wanted) minT = Math.min(minT, w.t);
  const from = await lowerBoundRevision(log, stream, headRevision, minT);
  const span = Number(headRevision - from) + 1;
  const slice = span <= SLICE_LIMIT ? await log.readStream(stream, from, span) : null;
  const events = slice?.events ?? new Float64Array(0);
  const count = events.length / EVENT_STRIDE;
  const sliceEnd = count > 0 ? events[events.length - 1]! : -Infinity;

  const matches: boolean[] = [];
  for (const w of wanted) {
    let at: [number, number] | null;
    if (w.t <= sliceEnd) {
      const i = findTimestamp(events, count, w.t);
      at = i < 0 ? null : [events[i * EVENT_STRIDE]!, events[i * EVENT_STRIDE + 1]!];
    } else {
      at = await eventAt(log, stream, headRevision, w.t);
    }
    matches.push(at !== null && at[0] === w.x && at[1] === w.y);
  }
  return matches;
}

/** The first revision whose timestamp is ≥ t (headRevision + 1 when none). */
async function lowerBoundRevision(log: EventLog, stream: string, headRevision: bigint, t: number): Promise<bigint> {
  let lo = 0n;
  let hi = headRevision + 1n;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    if ((await timestampAt(log, stream, mid)) < t) lo = mid + 1n;
    else hi = mid;
  }
  return lo;
}

async function eventAt(log: EventLog, stream: string, headRevision: bigint, t: number): Promise<[number, number] | null> {
  const revision = await lowerBoundRevision(log, stream, headRevision, t);
  if (revision > headRevision) return null;
  const chunk = await log.readStream(stream, revision, 1);
  if (chunk === null || chunk.events[2] !== t) return null;
  return [chunk.events[0]!, chunk.events[1]!];
}

async function timestampAt(log: EventLog, stream: string, revision: bigint): Promise<number> {
  const chunk = await log.readStream(stream, revision, 1);
  if (chunk === null) throw new Error(`stream ${stream} has no revision ${revision}`);
  return chunk.events[2]!;
}
