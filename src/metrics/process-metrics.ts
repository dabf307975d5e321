// Process metrics (CPU, memory, heap, event-loop lag, GC, handles), prefixed `telemetry_`.
// They describe the process, not one service, and prom-client's collectors never stop (a GC
// observer and an event-loop delay monitor per call): so one registry per process, created on first
// use and merged into each service's registry, rather than one set leaked per service started
// (tests start several services in one process).

import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'telemetry_';

let shared: Registry | undefined;

export function processMetrics(): Registry {
  if (shared === undefined) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared, prefix: METRIC_PREFIX });
  }
  return shared;
}
