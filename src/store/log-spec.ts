// How to open a log, as plain data: what a worker thread receives to open its own connection.

import type { EventLog } from './event-log.js';
import { SqliteEventLog } from './sqlite/sqlite-event-log.js';

export type LogSpec = { readonly kind: 'sqlite'; readonly dataDir: string };

export interface OpenLogOptions {
  /** Workers only read: they open the log read-only and never poll for new commits. */
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
  }
}
