// The location event and the limits every part of the service agrees on. No I/O here.

/** Largest timestamp accepted: 2^53 − 1, the largest integer a float64 holds exactly. */
export const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

/** Robot names are 1–150 characters (Unicode code points). */
export const MAX_ROBOT_NAME_LENGTH = 150;

/**
 * Events travel in packed blocks: a Float64Array of (x, y, timestamp) triples, in stream order.
 * The same layout is the SQLite log's blob format and what projections read, so no per-event
 * object is created between the socket and the disk.
 */
export const EVENT_STRIDE = 3;

export interface LocationEvent {
  readonly robot: string;
  readonly x: number;
  readonly y: number;
  readonly timestamp: number;
}

/** Number of events in a packed block. */
export function eventCount(block: Float64Array): number {
  return block.length / EVENT_STRIDE;
}
