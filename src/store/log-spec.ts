// How to open a log, as plain data: what the service is configured with, and what a worker thread
// receives to open its own connection. Each adapter's open.ts turns its spec into a log; a rebuild
// worker imports only its own adapter's, so a thread does not load the other's client.

import type { EventLog } from './event-log.js';
import { openEventStoreLog } from './eventstoredb/open.js';
import { openSqliteLog } from './sqlite/open.js';

export type SqliteSpec = { readonly kind: 'sqlite'; readonly dataDir: string };
export type EventStoreSpec = { readonly kind: 'eventstoredb'; readonly connectionString: string; readonly deadlineMs: number };
export type LogSpec = SqliteSpec | EventStoreSpec;

export interface OpenLogOptions {
  /** Workers only read: they open the log read-only and never poll or probe. */
  readonly readonly?: boolean;
}

export function openLog(spec: LogSpec, options: OpenLogOptions = {}): EventLog {
  return spec.kind === 'sqlite' ? openSqliteLog(spec, options) : openEventStoreLog(spec, options);
}
