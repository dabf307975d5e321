// Reads a revision range of one robot's stream in pages, one page per pull: an export of a million
// events holds one page (and what the socket has not yet taken) at a time, never the whole body.

import { EVENT_STRIDE } from '../../domain/location.js';
import type { EventLog } from '../../store/event-log.js';

/** Events per read: about 100–200 KB of text per page in every format. */
export const EXPORT_PAGE_EVENTS = 4096;

export interface PageSource {
  readonly log: EventLog;
  readonly robot: string;
  /** First revision exported. */
  readonly first: number;
  /** Number of events exported. */
  readonly count: number;
}

/** Exactly `count` events from `from`; the projection vouched for them, so fewer is a failure. */
export async function readPage(log: EventLog, robot: string, from: number, count: number): Promise<Float64Array> {
  const chunk = await log.readStream(robot, BigInt(from), count);
  const events = chunk?.events ?? new Float64Array(0);
  if (events.length !== count * EVENT_STRIDE) {
    throw new Error(`stream ${robot} returned ${events.length / EVENT_STRIDE} events at revision ${from}; the projection expects ${count}`);
  }
  return events;
}

/**
 * The source's events as pages. `firstPage`, when given, is the already-read start of the range
 * (the route reads it before answering, so a store failure is still a JSON error, not a cut body).
 */
export async function* eventPages(source: PageSource, firstPage?: Float64Array): AsyncGenerator<Float64Array> {
  const end = source.first + source.count;
  let next = source.first;
  if (firstPage !== undefined) {
    yield firstPage;
    next += firstPage.length / EVENT_STRIDE;
  }
  while (next < end) {
    const n = Math.min(EXPORT_PAGE_EVENTS, end - next);
    const page = await readPage(source.log, source.robot, next, n);
    yield page;
    next += n;
  }
}
