// GET /api/live: Server-Sent Events of robot positions as they are committed and projected.
// One `position` event per robot per client interval at most (latest position wins), the same
// object as an item of GET /api/robots; `: heartbeat` comments keep idle streams open.

import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { createError } from '../../domain/errors.js';
import { errorResponses } from '../schemas.js';
import type { Health } from '../app.js';
import type { LiveHub } from './live-hub.js';
import { parseLiveQuery } from './live-query.js';

// How long an EventSource waits before reconnecting after the stream ends (e.g. a restart).
const RETRY_MS = 2000;

export function registerLiveRoutes(app: FastifyInstance, hub: LiveHub, health: () => Health): void {
  // Documented, not validated by schema: parseLiveQuery gives the errors (and their wording).
  const schema = {
    tags: ['live'],
    summary: 'Server-Sent Events: robot positions as they are committed',
    description:
      'Query: `robots=Bender,Calculon` (at most 1,000 names; omitted: every robot) and `interval_ms` ' +
      '(50–60,000, default 250): at most one `position` event per robot per interval, the latest winning, ' +
      'each the same object as an item of `GET /api/robots`. The stream starts with every followed robot\'s ' +
      'current position; `: heartbeat` comments keep it open. Browsers pass a token as `?token=`.',
    response: {
      200: { description: 'An event stream (never ends on its own)', content: { 'text/event-stream': { schema: Type.String() } } },
      ...errorResponses(['INVALID_QUERY', 'BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'INTERNAL', 'NOT_READY']),
    },
  };
  app.get('/api/live', { schema }, async (request, reply) => {
    const state = health();
    if (state.status === 'starting') throw createError('NOT_READY', state.reason);
    const query = parseLiveQuery(request.query as Record<string, unknown>);

    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // A stream is never reused for another request: close the socket when it ends.
      connection: 'close',
      // Reverse proxies (nginx) would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    out.write(`retry: ${RETRY_MS}\n: connected\n\n`);
    // The browser may have gone already; its 'close' would then never reach the hub.
    if (request.raw.socket.destroyed) {
      out.destroy();
      return;
    }
    const client = hub.connect(out, query.robots, query.intervalMs);
    if (client === null) {
      out.end();
      return;
    }
    out.once('close', () => hub.disconnect(client));
  });

  // Open streams would keep app.close() waiting for ever: end them before the server closes.
  app.addHook('preClose', (done) => {
    hub.close();
    done();
  });
}
