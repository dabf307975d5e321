// Every HTTP error is JSON `{ statusCode, code, error, message }` with a code from domain/errors.

import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createError, ERRORS, TelemetryError } from '../domain/errors.js';

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

function toTelemetryError(error: FastifyError | TelemetryError): TelemetryError {
  if (error instanceof TelemetryError) return error;
  if (error.validation !== undefined) return createError('INVALID_QUERY', error.message);
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const mapped = createError('BAD_REQUEST', error.message);
    return new TelemetryError({ ...ERRORS.BAD_REQUEST, statusCode: status }, mapped.message);
  }
  return createError('INTERNAL');
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | TelemetryError, request: FastifyRequest, reply: FastifyReply) => {
    const mapped = toTelemetryError(error);
    if (mapped.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    void reply.code(mapped.statusCode).type('application/json; charset=utf-8').send(errorBody(mapped));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const error = createError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(error));
  });
}
