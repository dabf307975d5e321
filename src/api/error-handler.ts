// Every HTTP error is JSON `{ statusCode, code, error, message }` (domain/errors.ts errorBody) with a
// code from the registry.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createError, errorBody, ERRORS, TelemetryError } from '../domain/errors.js';
import { robotNameError } from '../domain/wire-format.js';
import { invalidQueryMessage } from './query.js';

/**
 * A route schema rejected the request: answer with our codes and our messages. A bad `:robot` is
 * TELEMETRY_INVALID_ROBOT_NAME with the domain's reason (the schema mirrors the domain rule); a bad
 * query parameter is TELEMETRY_INVALID_QUERY with the message the parser would have given.
 */
function validationError(error: FastifyError, request: FastifyRequest): TelemetryError {
  const first = error.validation?.[0];
  if (error.validationContext === 'params') {
    const robot = (request.params as Record<string, unknown> | undefined)?.robot;
    const reason = typeof robot === 'string' ? robotNameError(robot) : null;
    return createError('INVALID_ROBOT_NAME', reason ?? error.message);
  }
  if (error.validationContext === 'querystring' && first !== undefined) {
    const name = first.instancePath.split('/')[1] ?? (first.params as { missingProperty?: string }).missingProperty;
    const value = (request.query as Record<string, unknown> | undefined)?.[name ?? ''];
    const message = name === undefined ? null : invalidQueryMessage(name, value);
    if (message !== null) return createError('INVALID_QUERY', message);
  }
  return createError('INVALID_QUERY', error.message);
}

function toTelemetryError(error: FastifyError | TelemetryError, request: FastifyRequest): TelemetryError {
  if (error instanceof TelemetryError) return error;
  if (error.validation !== undefined) return validationError(error, request);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const mapped = createError('BAD_REQUEST', error.message);
    return new TelemetryError({ ...ERRORS.BAD_REQUEST, statusCode: status }, mapped.message);
  }
  return createError('INTERNAL');
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | TelemetryError, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toTelemetryError(error, request);
    if (mapped.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(mapped.statusCode).type('application/json; charset=utf-8').send(errorBody(mapped));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const error = createError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(error));
  });
}

/**
 * Errors the framework raises before routing (a path that does not percent-decode, a parameter past
 * the router's length limit), answered in our shape instead of Fastify's. Passed as Fastify's
 * `frameworkErrors` option.
 */
export function frameworkErrorHandler(maxParamLength: number) {
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
    const mapped =
      error.code === 'FST_ERR_BAD_URL'
        ? createError('BAD_URL', error.message)
        : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? createError('URI_TOO_LONG', maxParamLength)
          : createError('BAD_REQUEST', error.message);
    void reply.code(mapped.statusCode).type('application/json; charset=utf-8').send(errorBody(mapped));
  };
}

/**
 * Errors of Node's HTTP parser, before any request exists (headers too large, a timeout, bytes that
 * are not HTTP), answered in our shape and the connection closed. Passed as `clientErrorHandler`.
 */
export function clientErrorHandler(maxHeaderBytes: number) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const mapped =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? createError('HEADERS_TOO_LARGE', maxHeaderBytes)
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? createError('REQUEST_TIMEOUT')
          : createError('BAD_REQUEST', 'the request is not well-formed HTTP');
    const body = JSON.stringify(errorBody(mapped));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${mapped.statusCode} ${STATUS_CODES[mapped.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
