// Query-string parsing for the live feed: which robots, and how often at most.

import { createError } from '../../domain/errors.js';
import { robotNameError } from '../../domain/wire-format.js';

/** Bounds on `interval_ms`: fast enough for a smooth map, slow enough that no browser is flooded. */
export const MIN_INTERVAL_MS = 50;
export const MAX_INTERVAL_MS = 60_000;
/** A filter longer than this is almost certainly a mistake (`robots` omitted follows every robot). */
export const MAX_FILTER_ROBOTS = 1_000;

export interface LiveQuery {
  /** null: every robot. */
  readonly robots: ReadonlySet<string> | null;
  readonly intervalMs: number | undefined;
}

type Query = Record<string, unknown>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw createError('INVALID_QUERY', `${name} must be given once`);
  return value;
}

/** `robots=Bender,Calculon` (names cannot hold commas) and `interval_ms=250`. */
export function parseLiveQuery(query: Query): LiveQuery {
  const list = single(query, 'robots');
  let robots: Set<string> | null = null;
  if (list !== undefined) {
    const names = list.split(',');
    if (names.length > MAX_FILTER_ROBOTS) {
      throw createError('INVALID_QUERY', `robots lists at most ${MAX_FILTER_ROBOTS} names, got ${names.length}`);
    }
    robots = new Set();
    for (const name of names) {
      const reason = robotNameError(name);
      if (reason !== null) throw createError('INVALID_QUERY', `robots: ${JSON.stringify(name.slice(0, 40))}: ${reason}`);
      robots.add(name);
    }
  }
  const raw = single(query, 'interval_ms');
  let intervalMs: number | undefined;
  if (raw !== undefined) {
    intervalMs = Number(raw);
    if (!/^[0-9]{1,6}$/.test(raw) || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
      throw createError('INVALID_QUERY', `interval_ms must be an integer from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}, got ${JSON.stringify(raw.slice(0, 40))}`);
    }
  }
  return { robots, intervalMs };
}
