// The Fastify app factory: everything REST, without a socket, so tests can `inject()` into it.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createError } from '../domain/errors.js';
import { errorBody, installErrorHandlers } from './error-handler.js';
import { registerRobotRoutes, type RobotRouteDeps } from './robot-routes.js';

export interface AppDeps extends RobotRouteDeps {
  readonly logger: Logger;
  /** Why the service is not ready yet, or null once it is. */
  readonly notReadyReason: () => string | null;
}

// Robot names are up to 150 characters; percent-encoded UTF-8 takes up to 12 characters each.
const MAX_PARAM_LENGTH = 2048;

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One log line per event of interest, never one per request.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
  });
  installErrorHandlers(app);

  app.get('/healthz', async (_request, reply) => {
    const reason = deps.notReadyReason();
    if (reason !== null) return reply.code(503).send({ status: 'starting', ...errorBody(createError('NOT_READY', reason)) });
    return { status: 'ok' };
  });

  // Until projections have caught up, a read could miss committed events: say so instead.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    const reason = deps.notReadyReason();
    if (reason !== null) return reply.code(503).send(errorBody(createError('NOT_READY', reason)));
  });

  registerRobotRoutes(app, deps);
  return app;
}
