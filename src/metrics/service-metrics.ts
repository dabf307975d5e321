// One service's metrics: its own registry (tests run several services in one process), the
// process-wide process metrics merged in, and the parts that feed it. main.ts builds one, hands the
// pieces to the parts it wires, and the Fastify app serves it at /metrics.

import { Registry, type Metric } from 'prom-client';
import type { RouterStats } from '../actors/router.js';
import type { EventLog } from '../store/event-log.js';
import { AppendMetrics } from './append-metrics.js';
import { registerActorMetrics } from './actor-metrics.js';
import { registerIngestMetrics, type ConnectionSource } from './ingest-metrics.js';
import { MeteredEventLog } from './metered-event-log.js';
import { OutcomeTally } from './outcome-tally.js';
import { processMetrics } from './process-metrics.js';
import { registerProjectionMetrics, type ProjectionMetricsOptions, type ProjectionSource } from './projection-metrics.js';
import { httpRequestHistogram, type HttpHistogram, type MetricsEndpoint } from './rest-metrics.js';

export class ServiceMetrics implements MetricsEndpoint {
  readonly registry = new Registry();
  /** Counted into by every ingest connection (see ConnectionReplies). */
  readonly outcomes = new OutcomeTally();
  readonly httpSeconds: HttpHistogram;
  private readonly appends: AppendMetrics;

  constructor() {
    // What Registry.merge does, kept on this registry so metrics registered later still show.
    // (prom-client types the array as plain objects; they are the Metric instances.)
    for (const metric of processMetrics().getMetricsAsArray()) this.registry.registerMetric(metric as unknown as Metric);
    this.appends = new AppendMetrics(this.registry);
    this.httpSeconds = httpRequestHistogram(this.registry);
  }

  /** `log` with its appends measured; everything else passes through. */
  meterLog(log: EventLog): EventLog {
    return new MeteredEventLog(log, this.appends);
  }

  watchIngest(connections: ConnectionSource): void {
    registerIngestMetrics(this.registry, this.outcomes, connections);
  }

  watchActors(router: { stats(): RouterStats }): void {
    registerActorMetrics(this.registry, router);
  }

  watchProjections(projections: ProjectionSource, log: Pick<EventLog, 'lastPosition'>, options: ProjectionMetricsOptions): void {
    registerProjectionMetrics(this.registry, projections, log, options);
  }
}
