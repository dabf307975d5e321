// The ingest wire format: `x,y,timestamp,robot_name`, one event per line.
// Parsing writes into a caller-owned scratch record so the ingest loop allocates no object per event.

import { EVENT_STRIDE, MAX_ROBOT_NAME_LENGTH, MAX_TIMESTAMP } from './location.js';

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
 * One line's fields: the numbers as one packed (x, y, timestamp) event, the robot name as where it
 * lies in the text (checked by the caller). Packed, and handed on packed, because a double returned
 * from or passed to a call the engine does not inline is boxed on the heap: the timestamp (above
 * 2^31) cost an allocation per event ("Ingest, commit rounds" in BENCHMARKS.md).
 */
export interface ParsedFields {
  readonly event: Float64Array;
  nameStart: number;
  nameEnd: number;
}

export function newParsedFields(): ParsedFields {
  return { event: new Float64Array(EVENT_STRIDE), nameStart: 0, nameEnd: 0 };
}

/**
 * Parses the line `text[start, end)` (without its '\n'; a trailing '\r' is tolerated) into `out`,
 * reading the numbers straight from the text: no string per field. The robot name is only located,
 * not checked: see robotNameError. Returns null on success, else the reason the line is rejected.
 */
export function parseFields(text: string, start: number, end: number, out: ParsedFields): string | null {
  if (end > start && text.charCodeAt(end - 1) === 13) end--;
  if (end === start) return REASON.empty;
  const c1 = text.indexOf(',', start);
  if (c1 < 0 || c1 >= end) return REASON.fields;
  const c2 = text.indexOf(',', c1 + 1);
  if (c2 < 0 || c2 >= end) return REASON.fields;
  const c3 = text.indexOf(',', c2 + 1);
  if (c3 < 0 || c3 >= end) return REASON.fields;
  // The scanners store into the packed event and answer only whether they could: a double returned
  // from a call the engine does not inline is boxed, one allocation per field per event.
  const event = out.event;
  if (!readDecimal(text, start, c1, event, 0)) return REASON.x;
  if (!readDecimal(text, c1 + 1, c2, event, 1)) return REASON.y;
  if (!readTimestamp(text, c2 + 1, c3, event, 2)) return REASON.timestamp;
  out.nameStart = c3 + 1;
  out.nameEnd = end;
  return null;
}

/** Exact powers of ten: every one up to 10^22 is a float64 without rounding. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Most digits whose value is always below 2^53, so it accumulates without rounding. */
const EXACT_DIGITS = 15;

/**
 * Reads the decimal number `text[from, to)` into `into[at]`: optional '-', digits, optional
 * fraction, optional exponent. No '+', no hex, no 'NaN'/'Infinity', no spaces: what every robot's
 * printf or JSON encoder emits. False (nothing stored) when it is not one, or is not finite. Up to 15
 * digits without an exponent, the value is the digits as an integer divided by a power of ten — both
 * exact, so the one division rounds correctly and the result is the same float64 as Number() gives;
 * anything else goes to Number() itself.
 */
function readDecimal(text: string, from: number, to: number, into: Float64Array, at: number): boolean {
  let i = from;
  const negative = i < to && text.charCodeAt(i) === 45; // '-'
  if (negative) i++;
  const digitsFrom = i;
  let mantissa = 0;
  for (; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
  }
  if (i === digitsFrom) return false;
  let scale = 0;
  if (i < to && text.charCodeAt(i) === 46) {
    // '.'
    const fractionFrom = ++i;
    for (; i < to; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      mantissa = mantissa * 10 + d;
    }
    if (i === fractionFrom) return false;
    scale = i - fractionFrom;
  }
  const digits = i - digitsFrom - (scale > 0 ? 1 : 0);
  if (i < to) {
    const e = text.charCodeAt(i);
    if (e !== 101 && e !== 69) return false; // 'e', 'E'
    i++;
    if (i < to && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++; // '+', '-'
    const exponentFrom = i;
    while (i < to && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i === exponentFrom || i < to) return false;
    return storeFinite(Number(text.slice(from, to)), into, at);
  }
  if (digits > EXACT_DIGITS) return storeFinite(Number(text.slice(from, to)), into, at);
  const value = scale === 0 ? mantissa : mantissa / POWERS_OF_TEN[scale]!;
  into[at] = negative ? -value : value;
  return true;
}

function storeFinite(value: number, into: Float64Array, at: number): boolean {
  if (!Number.isFinite(value)) return false;
  into[at] = value;
  return true;
}

/** Reads the timestamp `text[from, to)` into `into[at]`: 1 to 16 digits, at most MAX_TIMESTAMP; false otherwise. */
function readTimestamp(text: string, from: number, to: number, into: Float64Array, at: number): boolean {
  if (to === from || to - from > 16) return false;
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    // Exact below 2^53; past it, rounding keeps the sum at or above 2^53, which the check refuses.
    value = value * 10 + d;
  }
  if (value > MAX_TIMESTAMP) return false;
  into[at] = value;
  return true;
}

const lineFields = newParsedFields();

/**
 * Parses one line (without its '\n'; a trailing '\r' is tolerated) into `out`, name checked.
 * Returns null on success, else the reason the line is rejected.
 */
export function parseEventLine(line: string, out: ParsedEvent): string | null {
  const reason = parseFields(line, 0, line.length, lineFields);
  if (reason !== null) return reason;
  const robot = line.slice(lineFields.nameStart, lineFields.nameEnd);
  const nameError = robotNameError(robot);
  if (nameError !== null) return nameError;
  out.x = lineFields.event[0]!;
  out.y = lineFields.event[1]!;
  out.timestamp = lineFields.event[2]!;
  out.robot = robot;
  return null;
}

/**
 * Calls `visit(start, end, index)` for each line of a frame, `frame[start, end)` without its '\n'.
 * A single trailing '\n' ends the last line rather than starting an empty one, so both `a` and
 * `a\n` are one event; any other empty line is an event of its own (and is rejected as empty).
 * Returns the number of lines.
 */
export function forEachLineAt(frame: string, visit: (start: number, end: number, index: number) => void): number {
  const length = frame.length;
  let start = 0;
  let index = 0;
  for (;;) {
    const nl = frame.indexOf('\n', start);
    if (nl < 0) {
      if (start < length || index === 0) visit(start, length, index++);
      return index;
    }
    visit(start, nl, index++);
    start = nl + 1;
    if (start === length) return index;
  }
}

/** forEachLine with each line as a string: for tools and tests; the ingest reads lines in place. */
export function forEachLine(frame: string, visit: (line: string, index: number) => void): number {
  return forEachLineAt(frame, (start, end, index) => visit(frame.slice(start, end), index));
}
