// The Fastify app factory: everything REST, without a socket, so tests can `inject()` into it.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createError, errorBody } from '../domain/errors.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandlers } from './error-handler.js';
import { maxHeaderSize } from 'node:http';
import { registerAdminRoutes, type ProjectionAdmin } from './admin-routes.js';
import { registerRobotRoutes, type RobotRouteDeps } from './robot-routes.js';
import { registerOpenApi } from './openapi.js';
import { HEALTH_SCHEMA } from './health-schema.js';
import type { Authenticator } from '../auth/authenticator.js';
import { restAuthHook } from '../auth/rest-hook.js';
import type { LiveHub } from './live/live-hub.js';
import { registerLiveRoutes } from './live/live-routes.js';
import { registerPageRoutes } from './page-routes.js';
import { registerMetricsRoutes, type MetricsEndpoint } from '../metrics/rest-metrics.js';

/** `starting`: projections are catching up; `degraded`: the event store cannot be reached. */
export type Health = { readonly status: 'ok' } | { readonly status: 'starting' | 'degraded'; readonly reason: string };

export interface AppDeps extends RobotRouteDeps {
  readonly logger: Logger;
  readonly health: () => Health;
  readonly admin: ProjectionAdmin;
  /** Bearer tokens for /api/* and /metrics; null or absent: open (see README "Security"). */
  readonly auth?: Authenticator | null;
  /** The live feed (GET /api/live); without it the route is absent. */
  readonly live?: LiveHub;
  /** Prometheus text at GET /metrics and REST latency by route; without it, neither. */
  readonly metrics?: MetricsEndpoint;
}

// Robot names are up to 150 characters; percent-encoded UTF-8 takes up to 12 characters each.
const MAX_PARAM_LENGTH = 2048;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One log line per event of interest, never one per request.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler(MAX_PARAM_LENGTH),
    clientErrorHandler: clientErrorHandler(maxHeaderSize),
  });
  installErrorHandlers(app);
  // Before any route: the OpenAPI document lists only routes declared after it.
  registerOpenApi(app);
  // First of the onRequest hooks: nothing about the fleet, not even readiness, before the token.
  if (deps.auth) app.addHook('onRequest', restAuthHook(deps.auth));
  if (deps.metrics !== undefined) registerMetricsRoutes(app, deps.metrics);

  app.get('/healthz', { schema: HEALTH_SCHEMA }, async (_request, reply) => {
    const health = deps.health();
    if (health.status === 'ok') return { status: 'ok' };
    const error = createError(health.status === 'starting' ? 'NOT_READY' : 'STORE_UNAVAILABLE', health.reason);
    return reply.code(503).send({ status: health.status, ...errorBody(error) });
  });

  // Until projections have caught up, a read could miss committed events: say so instead. (While
  // the store is unreachable, projections still answer from memory; event bodies need the store.)
  // Callback style, not async: one promise less per request on routes measured against a bare one.
  app.addHook('onRequest', (request, reply, done) => {
    const health = request.url.startsWith('/api/robots') ? deps.health() : undefined;
    if (health?.status === 'starting') {
      reply.code(503).send(errorBody(createError('NOT_READY', health.reason)));
      return;
    }
    done();
  });

  registerRobotRoutes(app, deps);
  registerAdminRoutes(app, deps.admin);
  if (deps.live !== undefined) registerLiveRoutes(app, deps.live, deps.health);
  registerPageRoutes(app);
  return app;
}
