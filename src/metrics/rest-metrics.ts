// The REST side of the metrics: every response observed by route pattern (never the raw URL, which
// holds robot names) and status class, and GET /metrics serving the service's registry as
// Prometheus text.

import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

/** Reads answer from memory in well under a millisecond; event pages and exports can take seconds. */
export const HTTP_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The route label of a request no route matched (a 404): its URL is not a pattern. */
export const UNMATCHED_ROUTE = 'unmatched';

export type HttpHistogram = Histogram<'method' | 'route' | 'status_class'>;

export function httpRequestHistogram(registry: Registry): HttpHistogram {
  return new Histogram({
    name: 'telemetry_http_request_duration_seconds',
    help: 'Seconds from receiving a REST request to finishing its response, by method, route pattern and status class (2xx, 4xx, ...). For a stream (GET /api/live) the stream lifetime.',
    labelNames: ['method', 'route', 'status_class'],
    buckets: HTTP_SECONDS_BUCKETS,
    registers: [registry],
  });
}

export interface MetricsEndpoint {
  readonly registry: Registry;
  readonly httpSeconds: HttpHistogram;
}

export function registerMetricsRoutes(app: FastifyInstance, metrics: MetricsEndpoint): void {
  const { registry, httpSeconds } = metrics;
  app.addHook('onResponse', async (request, reply) => {
    httpSeconds.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status_class: `${Math.trunc(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
