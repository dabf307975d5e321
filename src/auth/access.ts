// Who may do what, decided from what a request presents: the bearer token (header, or `?token=` for
// clients that cannot set headers, such as browsers' WebSocket and EventSource) checked against the
// tokens in force, then its scope against the side being used. Independent of uWS and Fastify.

import { createError, errorBody, type TelemetryError } from '../domain/errors.js';
import { canAdminister, canRead, canWrite, describeScope, writeAccess, type WriteAccess } from './scope.js';
import type { Grant, TokenSet } from './token-set.js';

export type Denial = { readonly status: 401 | 403; readonly error: TelemetryError };

export type IngestDecision = { readonly grant: Grant; readonly access: WriteAccess } | Denial;
export type RestDecision = { readonly grant: Grant } | Denial;

/** REST resources by the scope they need. */
export type RestNeed = 'read' | 'admin';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * The token a request presents: the Authorization header if it has one, else `?token=`.
 * `''` when there is none; null when the Authorization header is present but not `Bearer <token>`.
 */
export function presentedToken(authorization: string | undefined, queryToken: string | undefined): string | null {
  if (authorization !== undefined && authorization !== '') {
    const match = BEARER.exec(authorization);
    return match === null ? null : match[1]!;
  }
  return queryToken ?? '';
}

function authenticate(tokens: TokenSet, presented: string | null): Grant | Denial {
  if (presented === null) return unauthorized('the Authorization header must be "Bearer <token>"');
  if (presented === '') return unauthorized('a bearer token is required (Authorization: Bearer <token>, or ?token=<token>)');
  const grant = tokens.authenticate(presented);
  return grant ?? unauthorized('the token is not valid (unknown, revoked or malformed)');
}

export function checkIngest(tokens: TokenSet, presented: string | null): IngestDecision {
  const grant = authenticate(tokens, presented);
  if ('error' in grant) return grant;
  if (!canWrite(grant.scope)) {
    return forbidden(`token ${grant.id} (scope ${describeScope(grant.scope)}) cannot write telemetry; writing needs a robots, prefix or fleet token`);
  }
  return { grant, access: writeAccess(grant.scope)! };
}

export function checkRest(tokens: TokenSet, presented: string | null, need: RestNeed): RestDecision {
  const grant = authenticate(tokens, presented);
  if ('error' in grant) return grant;
  if (need === 'admin' && !canAdminister(grant.scope)) {
    return forbidden(`token ${grant.id} (scope ${describeScope(grant.scope)}) cannot use admin routes; they need an admin token`);
  }
  if (need === 'read' && !canRead(grant.scope)) {
    return forbidden(`token ${grant.id} (scope ${describeScope(grant.scope)}) cannot read; reads need a read or admin token`);
  }
  return { grant };
}

function unauthorized(reason: string): Denial {
  return { status: 401, error: createError('UNAUTHORIZED', reason) };
}

function forbidden(reason: string): Denial {
  return { status: 403, error: createError('FORBIDDEN', reason) };
}

/** The JSON error body of a refusal, as every HTTP error of the service is shaped. */
export function denialJson(denial: Denial): string {
  return JSON.stringify(errorBody(denial.error));
}
