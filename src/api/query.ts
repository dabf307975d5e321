// Query-string parsing for time ranges and paging, with messages that say what was expected.

import { createError } from '../domain/errors.js';
import { MAX_TIMESTAMP } from '../domain/location.js';
import { robotNameError } from '../domain/wire-format.js';

export const DEFAULT_EVENTS_LIMIT = 10_000;
export const MAX_EVENTS_LIMIT = 100_000;

export interface TimeRange {
  readonly start: number;
  readonly end: number;
}

type Query = Record<string, unknown>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw createError('INVALID_QUERY', `${name} must be given once`);
  return value;
}

function integerParam(query: Query, name: string, min: number, max: number, fallback: number): number {
  const raw = single(query, name);
  if (raw === undefined) return fallback;
  if (!/^[0-9]{1,16}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw createError('INVALID_QUERY', `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return Number(raw);
}

/** `start_time` and `end_time`, inclusive, in milliseconds; missing bounds are open; reversed bounds are swapped. */
export function parseTimeRange(query: Query): TimeRange {
  const start = integerParam(query, 'start_time', 0, MAX_TIMESTAMP, 0);
  const end = integerParam(query, 'end_time', 0, MAX_TIMESTAMP, MAX_TIMESTAMP);
  return start <= end ? { start, end } : { start: end, end: start };
}

export function parseLimit(query: Query): number {
  return integerParam(query, 'limit', 1, MAX_EVENTS_LIMIT, DEFAULT_EVENTS_LIMIT);
}

export function checkRobotName(name: string): string {
  const reason = robotNameError(name);
  if (reason !== null) throw createError('INVALID_ROBOT_NAME', reason);
  return name;
}
