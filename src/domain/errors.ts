// One registry of error codes. Every error the service reports carries a stable `code` from here;
// callers check `code`, never the class (errors crossing postMessage lose their class).
// Each code is documented in docs/errors.md; a unit test keeps the two in step.

import { STATUS_CODES } from 'node:http';

export interface ErrorDefinition {
  readonly code: string;
  readonly statusCode: number;
  readonly message: string;
}

function define(code: string, statusCode: number, message: string): ErrorDefinition {
  return Object.freeze({ code, statusCode, message });
}

export const ERRORS = Object.freeze({
  INVALID_QUERY: define('TELEMETRY_INVALID_QUERY', 400, 'Invalid query: %s'),
  BAD_REQUEST: define('TELEMETRY_BAD_REQUEST', 400, 'Bad request: %s'),
  INVALID_ROBOT_NAME: define('TELEMETRY_INVALID_ROBOT_NAME', 400, 'Invalid robot name: %s'),
  BAD_URL: define('TELEMETRY_BAD_URL', 400, 'The path does not decode: %s'),
  UNAUTHORIZED: define('TELEMETRY_UNAUTHORIZED', 401, 'Unauthorized: %s'),
  FORBIDDEN: define('TELEMETRY_FORBIDDEN', 403, 'Forbidden: %s'),
  ROBOT_NOT_FOUND: define('TELEMETRY_ROBOT_NOT_FOUND', 404, 'Robot "%s" not found'),
  ROUTE_NOT_FOUND: define('TELEMETRY_ROUTE_NOT_FOUND', 404, 'Route %s not found'),
  NOT_ACCEPTABLE: define('TELEMETRY_NOT_ACCEPTABLE', 406, 'Not acceptable: %s'),
  REQUEST_TIMEOUT: define('TELEMETRY_REQUEST_TIMEOUT', 408, 'The request did not arrive in time'),
  REBUILD_RUNNING: define('TELEMETRY_REBUILD_RUNNING', 409, 'A projection rebuild is already running: job %s'),
  URI_TOO_LONG: define('TELEMETRY_URI_TOO_LONG', 414, 'A path parameter is longer than %s characters'),
  HEADERS_TOO_LARGE: define('TELEMETRY_HEADERS_TOO_LARGE', 431, 'The request line and headers exceed %s bytes'),
  TOO_MANY_TOKEN_CONNECTIONS: define('TELEMETRY_TOO_MANY_TOKEN_CONNECTIONS', 429, 'Too many connections: %s'),
  NOT_READY: define('TELEMETRY_NOT_READY', 503, 'Service not ready: %s'),
  TOO_MANY_CONNECTIONS: define('TELEMETRY_TOO_MANY_CONNECTIONS', 503, 'Too many connections: %s'),
  STORE_UNAVAILABLE: define('TELEMETRY_STORE_UNAVAILABLE', 503, 'Event store unavailable: %s'),
  REVISION_CONFLICT: define('TELEMETRY_REVISION_CONFLICT', 409, 'Stream %s: expected revision %s, actual %s'),
  INTERNAL: define('TELEMETRY_INTERNAL', 500, 'Internal server error'),
  CONFIG_INVALID: define('TELEMETRY_CONFIG_INVALID', 500, '%s'),
  UWS_FALLBACK: define('TELEMETRY_UWS_FALLBACK', 500, '%s'),
  CHECKPOINT_INVALID: define('TELEMETRY_CHECKPOINT_INVALID', 500, 'Projection checkpoint unusable: %s'),
});

export type ErrorName = keyof typeof ERRORS;

/** An error with a stable code and HTTP status, safe to serialise as `{ code, message }`. */
export class TelemetryError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(definition: ErrorDefinition, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelemetryError';
    this.code = definition.code;
    this.statusCode = definition.statusCode;
  }
}

/** Builds the error for `name`, filling each `%s` of its message with the next argument. */
export function createError(name: ErrorName, ...args: Array<string | number | bigint>): TelemetryError {
  const definition = ERRORS[name];
  let i = 0;
  const message = definition.message.replace(/%s/g, () => String(args[i++] ?? ''));
  return new TelemetryError(definition, message);
}

/** True when `error` carries the code of `name`, whatever its class or thread of origin. */
export function hasCode(error: unknown, name: ErrorName): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === ERRORS[name].code;
}

/** How every error is shown over HTTP (REST, refused WebSocket upgrades): `{ statusCode, code, error, message }`. */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

export function errorBody(error: TelemetryError): ErrorBody {
  return {
    statusCode: error.statusCode,
    code: error.code,
    error: STATUS_CODES[error.statusCode] ?? 'Error',
    message: error.message,
  };
}
