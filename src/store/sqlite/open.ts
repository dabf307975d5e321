// Opens the embedded log from its spec: what the service and the SQLite rebuild workers call.

import type { OpenLogOptions, SqliteSpec } from '../log-spec.js';
import { SqliteEventLog } from './sqlite-event-log.js';

export function openSqliteLog(spec: SqliteSpec, options: OpenLogOptions = {}): SqliteEventLog {
  return new SqliteEventLog({
    dataDir: spec.dataDir,
    readonly: options.readonly ?? false,
    pollIntervalMs: options.readonly ? 0 : 100,
    onBackgroundError: options.onBackgroundError,
  });
}
