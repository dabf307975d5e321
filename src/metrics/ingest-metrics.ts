// Ingest series, read at scrape time: events answered by outcome (from the OutcomeTally the
// connections count into) and WebSocket connections (from the ingest server's own counters).

import { Counter, Gauge, type Registry } from 'prom-client';
import type { OutcomeTally } from './outcome-tally.js';

export interface ConnectionCounts {
  /** Connections open now. */
  readonly open: number;
  /** Connections opened since start. */
  readonly opened: number;
  /** Connections closed since start, by either side. */
  readonly closed: number;
}

/** The ingest server, or undefined before it exists (its series read zero then). */
export type ConnectionSource = () => { connectionCounts(): ConnectionCounts } | undefined;

export function registerIngestMetrics(registry: Registry, tally: OutcomeTally, connections: ConnectionSource): void {
  new Counter({
    name: 'telemetry_ingest_events_total',
    help: 'Events answered over the ingest WebSocket, by outcome (ok, dup, stale, err) and, for err, the reason sent. A frame refused whole (binary, too large, not UTF-8) counts once.',
    labelNames: ['outcome', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      tally.forEach((outcome, reason, count) => this.inc(reason === null ? { outcome } : { outcome, reason }, count));
    },
  });
  const counts = (): ConnectionCounts => connections()?.connectionCounts() ?? { open: 0, opened: 0, closed: 0 };
  new Gauge({
    name: 'telemetry_ingest_connections',
    help: 'Ingest WebSocket connections open now.',
    registers: [registry],
    collect() {
      this.set(counts().open);
    },
  });
  new Counter({
    name: 'telemetry_ingest_connections_opened_total',
    help: 'Ingest WebSocket connections accepted since start.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counts().opened);
    },
  });
  new Counter({
    name: 'telemetry_ingest_connections_closed_total',
    help: 'Ingest WebSocket connections closed since start, by the client or the server.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counts().closed);
    },
  });
}
