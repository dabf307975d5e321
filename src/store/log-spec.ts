// How to open a log, as plain data: what the service is configured with, and what a worker thread
// receives to open its own connection. Each adapter's open.ts turns its spec into a log; a rebuild
// worker imports only its own adapter's, so a thread does not load the other's client. The service
// loads the EventStoreDB client only when configured for it (its import is a large share of start-up;
// BENCHMARKS.md, "Start-up").

import type { EventLog } from './event-log.js';
import { openSqliteLog } from './sqlite/open.js';

export type SqliteSpec = { readonly kind: 'sqlite'; readonly dataDir: string };
export type EventStoreSpec = { readonly kind: 'eventstoredb'; readonly connectionString: string; readonly deadlineMs: number };
export type LogSpec = SqliteSpec | EventStoreSpec;

export interface OpenLogOptions {
  /** Workers only read: they open the log read-only and never poll or probe. */
  readonly readonly?: boolean;
  /** Told when work the log does in the background fails; the log tries it again. */
  readonly onBackgroundError?: (error: Error) => void;
}

export async function openLog(spec: LogSpec, options: OpenLogOptions = {}): Promise<EventLog> {
  if (spec.kind === 'sqlite') return openSqliteLog(spec, options);
  const { openEventStoreLog } = await import('./eventstoredb/open.js');
  return openEventStoreLog(spec, options);
}
