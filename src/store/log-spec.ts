// How to open a log, as plain data: what the service is configured with, and what a worker thread
// receives to open its own connection.

import type { EventLog } from './event-log.js';
import { EsdbEventLog } from './eventstoredb/esdb-event-log.js';
import { SqliteEventLog } from './sqlite/sqlite-event-log.js';

export type LogSpec =
  | { readonly kind: 'sqlite'; readonly dataDir: string }
  | { readonly kind: 'eventstoredb'; readonly connectionString: string; readonly deadlineMs: number };

export interface OpenLogOptions {
  /** Workers only read: they open the log read-only and never poll or probe. */
  readonly readonly?: boolean;
}

export function openLog(spec: LogSpec, options: OpenLogOptions = {}): EventLog {
  switch (spec.kind) {
    case 'sqlite':
      return new SqliteEventLog({
        dataDir: spec.dataDir,
        readonly: options.readonly ?? false,
        pollIntervalMs: options.readonly ? 0 : 100,
      });
    case 'eventstoredb':
      return new EsdbEventLog({
        connectionString: spec.connectionString,
        deadlineMs: spec.deadlineMs,
        probeIntervalMs: options.readonly ? 0 : 1000,
      });
  }
}
