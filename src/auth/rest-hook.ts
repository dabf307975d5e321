// The REST side of authentication: a Fastify onRequest hook guarding `/api/*` (reads need a `read`
// or `admin` token, `/api/admin/*` an `admin` one) and `/metrics`. The page, its assets, `/docs`,
// `/openapi.json` and `/healthz` stay open: they reveal no fleet data, and load balancers and
// browsers fetch them without credentials.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../domain/errors.js';
import { presentedToken, type RestNeed } from './access.js';
import type { Authenticator } from './authenticator.js';

/** What `path` (a request path or a route pattern) needs, or null when it is open. */
export function restNeed(path: string): RestNeed | null {
  if (path === '/api/admin' || path.startsWith('/api/admin/')) return 'admin';
  if (path === '/api' || path.startsWith('/api/')) return 'read';
  if (path === '/metrics' || path.startsWith('/metrics/')) return 'read';
  return null;
}

function stricter(a: RestNeed | null, b: RestNeed | null): RestNeed | null {
  if (a === 'admin' || b === 'admin') return 'admin';
  return a ?? b;
}

export function restAuthHook(auth: Authenticator) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    // Both the raw path and the matched route pattern: a path the router would decode or
    // normalise onto /api (e.g. percent-encoded letters) cannot slip past a prefix check.
    const rawPath = request.url.split('?', 1)[0]!;
    const need = stricter(restNeed(rawPath), restNeed(request.routeOptions.url ?? ''));
    if (need === null) return undefined;
    const query = request.query as Record<string, unknown> | undefined;
    const queryToken = typeof query?.token === 'string' ? query.token : undefined;
    const decision = auth.checkRest(presentedToken(request.headers.authorization, queryToken), need);
    if (!('error' in decision)) return undefined;
    if (decision.status === 401) void reply.header('www-authenticate', 'Bearer realm="telemetry"');
    return reply.code(decision.status).type('application/json; charset=utf-8').send(errorBody(decision.error));
  };
}
