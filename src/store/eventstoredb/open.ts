// Opens the EventStoreDB log from its spec: what the service and the EventStoreDB rebuild workers call.

import type { EventStoreSpec, OpenLogOptions } from '../log-spec.js';
import { EsdbEventLog } from './esdb-event-log.js';

export function openEventStoreLog(spec: EventStoreSpec, options: OpenLogOptions = {}): EsdbEventLog {
  return new EsdbEventLog({ connectionString: spec.connectionString, deadlineMs: spec.deadlineMs, probeIntervalMs: options.readonly ? 0 : 1000 });
}
