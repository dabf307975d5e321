// Query strings for time ranges, paging and formats: their schemas (for validation and the OpenAPI
// document) and their parsing, with messages that say what was expected.

import { Type } from 'typebox';
import { createError } from '../domain/errors.js';
import { MAX_TIMESTAMP } from '../domain/location.js';
import { robotNameError } from '../domain/wire-format.js';
import { EXPORT_FORMATS } from './exports/formats.js';

export const DEFAULT_EVENTS_LIMIT = 10_000;
export const MAX_EVENTS_LIMIT = 100_000;

export interface TimeRange {
  readonly start: number;
  readonly end: number;
}

type Query = Record<string, unknown>;

/** What each parameter accepts, in the words of the error messages. */
const RULES: Readonly<Record<string, string>> = {
  start_time: `an integer from 0 to ${MAX_TIMESTAMP}`,
  end_time: `an integer from 0 to ${MAX_TIMESTAMP}`,
  limit: `an integer from 1 to ${MAX_EVENTS_LIMIT}`,
  format: `one of ${EXPORT_FORMATS.join(', ')}`,
};

// Digits only (no sign, exponent, hex or spaces, which a numeric schema would coerce); the numeric
// range is checked when parsing. Query values are strings on the wire, so the schema says so.
const DIGITS = '^[0-9]{1,16}$';

const timeBound = (which: string, open: string) =>
  Type.Optional(
    Type.String({
      pattern: DIGITS,
      description: `${which}, inclusive: integer milliseconds, 0 to ${MAX_TIMESTAMP}; ${open} when missing. A start after the end is swapped.`,
    }),
  );

export const TimeRangeQuerySchema = Type.Object({
  start_time: timeBound('Lower bound', 'open'),
  end_time: timeBound('Upper bound', 'open'),
});

export const EventsQuerySchema = Type.Object({
  start_time: timeBound('Lower bound', 'open'),
  end_time: timeBound('Upper bound', 'open'),
  limit: Type.Optional(
    Type.String({
      pattern: DIGITS,
      description:
        `Most events to return, 1 to ${MAX_EVENTS_LIMIT}. JSON: defaults to ${DEFAULT_EVENTS_LIMIT}. ` +
        'Exports (csv, geojson, gpx): the whole range when missing. When more events remain, a `Link: <…>; rel="next"` header names the next page.',
    }),
  ),
  format: Type.Optional(
    Type.Enum([...EXPORT_FORMATS], {
      description: 'Representation; wins over the Accept header. json (default), csv (ingest wire format), geojson (a Feature), gpx (GPX 1.1 track).',
    }),
  ),
});

/** The message for a query parameter that failed validation, or null for a parameter we do not know. */
export function invalidQueryMessage(name: string, value: unknown): string | null {
  if (Array.isArray(value)) return `${name} must be given once`;
  const rule = RULES[name];
  if (rule === undefined) return null;
  return `${name} must be ${rule}, got ${JSON.stringify(String(value).slice(0, 40))}`;
}

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
    throw createError('INVALID_QUERY', invalidQueryMessage(name, raw)!);
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

/** The limit when one is given, else null (exports default to the whole range). */
export function parseOptionalLimit(query: Query): number | null {
  return query.limit === undefined ? null : parseLimit(query);
}

export function checkRobotName(name: string): string {
  const reason = robotNameError(name);
  if (reason !== null) throw createError('INVALID_ROBOT_NAME', reason);
  return name;
}
