// The ingest wire format: `x,y,timestamp,robot_name`, one event per line.
// Parsing writes into a caller-owned scratch record so the ingest loop allocates no object per event.

import { MAX_ROBOT_NAME_LENGTH, MAX_TIMESTAMP } from './location.js';

/** The field names in wire order: the header line of a CSV export, which replay skips. */
export const WIRE_FIELDS = 'x,y,timestamp,robot_name';

/** Reused by the caller across lines; valid until the next parse. */
export interface ParsedEvent {
  x: number;
  y: number;
  timestamp: number;
  robot: string;
}

export function newParsedEvent(): ParsedEvent {
  return { x: 0, y: 0, timestamp: 0, robot: '' };
}

// Decimal number: optional '-', digits, optional fraction, optional exponent. No '+', no hex,
// no 'NaN'/'Infinity', no surrounding spaces: what every robot's printf or JSON encoder emits.
const DECIMAL = /^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const DIGITS = /^[0-9]{1,16}$/;
// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const EDGE_WHITESPACE = /^\s|\s$/u;

export const REASON = {
  empty: 'empty event',
  fields: 'expected 4 comma-separated fields: x,y,timestamp,robot_name',
  x: 'x must be a finite decimal number',
  y: 'y must be a finite decimal number',
  timestamp: `timestamp must be an integer from 0 to ${MAX_TIMESTAMP}`,
  nameLength: `robot_name must be 1 to ${MAX_ROBOT_NAME_LENGTH} characters`,
  nameComma: 'robot_name must not contain a comma',
  nameControl: 'robot_name must not contain control characters',
  nameWhitespace: 'robot_name must not start or end with whitespace',
  // URL clients resolve these path segments away (even percent-encoded), so REST could never name them.
  nameDots: 'robot_name must not be "." or ".."',
} as const;

function parseDecimal(text: string): number {
  if (!DECIMAL.test(text)) return NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : NaN;
}

/** Checks a robot name; returns the reason it is invalid, or null. Used by REST paths too. */
export function robotNameError(name: string): string | null {
  if (name.length === 0) return REASON.nameLength;
  // UTF-16 length bounds the code-point count from above, so only long names need counting.
  if (name.length > MAX_ROBOT_NAME_LENGTH && codePointLength(name) > MAX_ROBOT_NAME_LENGTH) {
    return REASON.nameLength;
  }
  if (name.includes(',')) return REASON.nameComma;
  if (CONTROL.test(name)) return REASON.nameControl;
  if (EDGE_WHITESPACE.test(name)) return REASON.nameWhitespace;
  if (name.length <= 2 && (name === '.' || name === '..')) return REASON.nameDots;
  return null;
}

function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Parses one line (without its '\n'; a trailing '\r' is tolerated) into `out`.
 * Returns null on success, else the reason the line is rejected.
 */
export function parseEventLine(line: string, out: ParsedEvent): string | null {
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
  if (end === 0) return REASON.empty;
  const c1 = line.indexOf(',');
  if (c1 < 0 || c1 >= end) return REASON.fields;
  const c2 = line.indexOf(',', c1 + 1);
  if (c2 < 0 || c2 >= end) return REASON.fields;
  const c3 = line.indexOf(',', c2 + 1);
  if (c3 < 0 || c3 >= end) return REASON.fields;

  const x = parseDecimal(line.slice(0, c1));
  if (Number.isNaN(x)) return REASON.x;
  const y = parseDecimal(line.slice(c1 + 1, c2));
  if (Number.isNaN(y)) return REASON.y;

  const tsText = line.slice(c2 + 1, c3);
  if (!DIGITS.test(tsText)) return REASON.timestamp;
  const timestamp = Number(tsText);
  if (timestamp > MAX_TIMESTAMP) return REASON.timestamp;

  const robot = end === line.length ? line.slice(c3 + 1) : line.slice(c3 + 1, end);
  const nameError = robotNameError(robot);
  if (nameError !== null) return nameError;

  out.x = x;
  out.y = y;
  out.timestamp = timestamp;
  out.robot = robot;
  return null;
}

/**
 * Calls `visit(line)` for each line of a frame. A single trailing '\n' ends the last line rather
 * than starting an empty one, so both `a` and `a\n` are one event; any other empty line is an event
 * of its own (and is rejected as empty). Returns the number of lines.
 */
export function forEachLine(frame: string, visit: (line: string, index: number) => void): number {
  const length = frame.length;
  let start = 0;
  let index = 0;
  for (;;) {
    const nl = frame.indexOf('\n', start);
    if (nl < 0) {
      if (start < length || index === 0) visit(frame.slice(start), index++);
      return index;
    }
    visit(frame.slice(start, nl), index++);
    start = nl + 1;
    if (start === length) return index;
  }
}
