// GET /api/live: Server-Sent Events of robot positions as they are committed and projected.
// One `position` event per robot per client interval at most (latest position wins), the same
// object as an item of GET /api/robots; `: heartbeat` comments keep idle streams open.

import type { FastifyInstance } from 'fastify';
import { createError } from '../../domain/errors.js';
import type { Health } from '../app.js';
import type { LiveHub } from './live-hub.js';
import { parseLiveQuery } from './live-query.js';

// How long an EventSource waits before reconnecting after the stream ends (e.g. a restart).
const RETRY_MS = 2000;

export function registerLiveRoutes(app: FastifyInstance, hub: LiveHub, health: () => Health): void {
  app.get('/api/live', async (request, reply) => {
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
