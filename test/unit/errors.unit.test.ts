// The error registry: unique, prefixed, documented codes; message templates; code checks that
// survive postMessage (plain objects, no class).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createError, ERRORS, type ErrorName, hasCode, TelemetryError } from '../../src/domain/errors.js';
import { ERR_BUSY, ERR_FORBIDDEN_ROBOT, ERR_RATE_LIMITED, ERR_SHUTTING_DOWN, ERR_UNAVAILABLE } from '../../src/domain/outcome.js';
import { REASON } from '../../src/domain/wire-format.js';

const DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const NAMES = Object.keys(ERRORS) as ErrorName[];

/** Code → documented status, from table rows like "| `TELEMETRY_X` | 404 | ... |". */
function documentedCodes(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const match of DOC.matchAll(/^\|\s*`(TELEMETRY_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
    rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

describe('ERRORS registry', () => {
  it('has entries', () => {
    expect(NAMES.length).toBeGreaterThan(0);
  });

  it('has unique codes', () => {
    const codes = NAMES.map((name) => ERRORS[name].code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(NAMES)('%s: code is TELEMETRY_<name> and status is an HTTP error status', (name) => {
    const definition = ERRORS[name];
    expect(definition.code).toMatch(/^TELEMETRY_[A-Z0-9_]+$/);
    expect(definition.code).toBe(`TELEMETRY_${name}`);
    expect(Number.isInteger(definition.statusCode)).toBe(true);
    expect(String(definition.statusCode)).toMatch(/^[1-5][0-9]{2}$/);
    expect(definition.statusCode).toBeGreaterThanOrEqual(400);
    expect(definition.message.length).toBeGreaterThan(0);
  });

  it('is frozen, entries included', () => {
    expect(Object.isFrozen(ERRORS)).toBe(true);
    for (const name of NAMES) expect(Object.isFrozen(ERRORS[name])).toBe(true);
  });
});

describe('createError', () => {
  it('fills each %s with the next argument, in order', () => {
    const error = createError('REVISION_CONFLICT', 'robot-1', 4n, 7);
    expect(error.message).toBe('Stream robot-1: expected revision 4, actual 7');
    expect(error.code).toBe('TELEMETRY_REVISION_CONFLICT');
    expect(error.statusCode).toBe(409);
  });

  it('fills a single placeholder', () => {
    expect(createError('ROBOT_NOT_FOUND', 'Robôt 7').message).toBe('Robot "Robôt 7" not found');
    expect(createError('CONFIG_INVALID', 'whole message').message).toBe('whole message');
  });

  it('fills missing arguments with nothing and ignores extra ones', () => {
    expect(createError('INVALID_QUERY').message).toBe('Invalid query: ');
    expect(createError('INTERNAL', 'ignored').message).toBe('Internal server error');
  });

  it('inserts arguments literally, without re-expanding % or $ patterns', () => {
    expect(createError('REVISION_CONFLICT', '%s', '$&', "$'").message).toBe("Stream %s: expected revision $&, actual $'");
  });

  it('returns an Error that is a TelemetryError with code and status', () => {
    const error = createError('NOT_READY', 'catching up');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(TelemetryError);
    expect(error.name).toBe('TelemetryError');
    expect(error.statusCode).toBe(503);
    expect(error.message).toBe('Service not ready: catching up');
  });
});

describe('hasCode', () => {
  it('matches a TelemetryError by code', () => {
    expect(hasCode(createError('STORE_UNAVAILABLE', 'closed'), 'STORE_UNAVAILABLE')).toBe(true);
    expect(hasCode(createError('STORE_UNAVAILABLE', 'closed'), 'REVISION_CONFLICT')).toBe(false);
  });

  it('matches a plain { code, message } object, as received after postMessage', () => {
    const error = createError('REVISION_CONFLICT', 's', 1, 2);
    const plain = { code: error.code, message: error.message };
    expect(hasCode(plain, 'REVISION_CONFLICT')).toBe(true);
    expect(hasCode(plain, 'INTERNAL')).toBe(false);
    // postMessage uses the structured clone algorithm: the plain object keeps its code.
    expect(hasCode(structuredClone(plain), 'REVISION_CONFLICT')).toBe(true);
  });

  it('is false for values without the code', () => {
    for (const value of [null, undefined, 'TELEMETRY_INTERNAL', 42, {}, { code: 'INTERNAL' }, new Error('x')]) {
      expect(hasCode(value, 'INTERNAL')).toBe(false);
    }
  });
});

describe('docs/errors.md', () => {
  const documented = documentedCodes();

  it.each(NAMES)('documents %s with its HTTP status', (name) => {
    const { code, statusCode } = ERRORS[name];
    expect(documented.get(code), `${code} has no row in docs/errors.md`).toBe(statusCode);
  });

  it('documents no code that the registry lacks', () => {
    const codes = new Set(NAMES.map((name) => ERRORS[name].code));
    expect([...documented.keys()].filter((code) => !codes.has(code))).toEqual([]);
  });

  it('documents every ingest rejection reason and ERR reply', () => {
    const replies = [
      ...Object.values(REASON).map((reason) => `ERR ${reason}`),
      ERR_UNAVAILABLE,
      ERR_SHUTTING_DOWN,
      ERR_FORBIDDEN_ROBOT,
      ERR_BUSY,
      ERR_RATE_LIMITED,
      'ERR frame exceeds N events',
      'ERR frame exceeds N bytes',
    ];
    for (const reply of replies) expect(DOC, reply).toContain(`\`${reply}\``);
  });
});
