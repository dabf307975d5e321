// The REST side of the metrics: every response observed by route pattern (never the raw URL, which
// holds robot names) and status class, and GET /metrics serving the service's registry as
// Prometheus text.

import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { FastHistogram, type HistogramSeries } from './fast-histogram.js';

/** Reads answer from memory in well under a millisecond; event pages and exports can take seconds. */
export const HTTP_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The route label of a request no route matched (a 404): its URL is not a pattern. */
export const UNMATCHED_ROUTE = 'unmatched';

export type HttpHistogram = FastHistogram<'method' | 'route' | 'status_class'>;

export function httpRequestHistogram(registry: Registry): HttpHistogram {
  return new FastHistogram({
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
  // One series per (route, method, status class), found without building a label object or
  // hashing label values on every response: the odometer route is measured against a bare Fastify
  // route, so the hook has to stay close to free.
  const children = new Map<string, Map<number, HistogramSeries>>();
  const childFor = (method: string, route: string, statusClass: number) => {
    const key = `${method} ${route}`;
    let byStatus = children.get(key);
    if (byStatus === undefined) children.set(key, (byStatus = new Map()));
    let child = byStatus.get(statusClass);
    if (child === undefined) {
      child = httpSeconds.series({ method, route, status_class: `${statusClass}xx` });
      byStatus.set(statusClass, child);
    }
    return child;
  };
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    childFor(request.method, route, Math.trunc(reply.statusCode / 100)).observe(reply.elapsedTime / 1000);
    done();
  });

  const schema = {
    tags: ['metrics'],
    summary: 'Prometheus metrics (text exposition format)',
    response: {
      200: { description: 'Every metric of this service and process', content: { [registry.contentType]: { schema: { type: 'string' } } } },
    },
  };
  app.get('/metrics', { schema }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
}
