// TypeBox schemas shared by the REST routes: the error body, the robot path parameter and the
// per-status error responses. Fastify validates requests and serialises responses with them, and
// @fastify/swagger turns them into the OpenAPI document.
//
// Numbers that carry robot data (coordinates, timestamps, odometers) are `number`, never `integer`:
// the integer serialiser would round a value the schema did not expect instead of writing it.

import { Type, type TSchema } from 'typebox';
import { ERRORS, type ErrorName } from '../domain/errors.js';
import { MAX_ROBOT_NAME_LENGTH } from '../domain/location.js';

export const ErrorBodySchema = Type.Object(
  {
    statusCode: Type.Integer({ description: 'The HTTP status, repeated' }),
    code: Type.String({ description: 'Stable error code; see docs/errors.md' }),
    error: Type.String({ description: 'The HTTP reason phrase' }),
    message: Type.String({ description: 'What went wrong, for people' }),
  },
  { description: 'Every error is this JSON body' },
);

/**
 * Robot names as the ingest accepts them (see domain/wire-format.ts robotNameError): 1–150 code
 * points, no comma, no control characters, no leading or trailing whitespace, not `.` or `..`. Ajv counts code
 * points and compiles patterns with the `u` flag, so `\s` is Unicode whitespace as in the domain rule.
 */
export const ROBOT_NAME_PATTERN = '^(?!\\.{1,2}$)(?!\\s)[^,\\u0000-\\u001f\\u007f-\\u009f]*(?<!\\s)$';

export const RobotParamsSchema = Type.Object({
  robot: Type.String({
    minLength: 1,
    maxLength: MAX_ROBOT_NAME_LENGTH,
    pattern: ROBOT_NAME_PATTERN,
    description: `Robot name, percent-encoded: 1–${MAX_ROBOT_NAME_LENGTH} characters, no comma, no control characters, no leading or trailing whitespace, not \`.\` or \`..\``,
  }),
});

/** Codes any /api route can answer besides its own: framework 400s, authentication (when on), failures. */
export const COMMON_API_ERRORS: readonly ErrorName[] = ['BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'INTERNAL'];

/**
 * Response schemas for the statuses of `names`, one per status, each the error body with the
 * status's codes in its description (and `code` limited to them), for the OpenAPI document.
 */
export function errorResponses(names: readonly ErrorName[]): Record<number, TSchema> {
  const byStatus = new Map<number, string[]>();
  for (const name of names) {
    const { statusCode, code } = ERRORS[name];
    const codes = byStatus.get(statusCode) ?? [];
    if (!codes.includes(code)) codes.push(code);
    byStatus.set(statusCode, codes);
  }
  const responses: Record<number, TSchema> = {};
  for (const [status, codes] of byStatus) {
    responses[status] = Type.Object(
      {
        statusCode: Type.Integer({ const: status }),
        code: Type.String({ enum: codes }),
        error: Type.String(),
        message: Type.String(),
      },
      { description: codes.join(', ') },
    );
  }
  return responses;
}
