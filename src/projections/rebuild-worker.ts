// The body of a rebuild worker, shared by the per-store entry points in workers/: projects one
// partition of robots and hands the typed arrays back: shared (timestamps, distances) or transferred.

import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { EventLog } from '../store/event-log.js';
import { projectStreams } from './project-streams.js';

export interface RebuildTask<Spec> {
  readonly log: Spec;
  readonly streams: string[];
}

/**
 * A task handler that keeps one read-only connection per log for the life of the thread: a fresh
 * connection starts with a cold page cache, which costs more than a small partition's whole scan.
 * The pool is destroyed when the rebuild ends, and the thread's exit closes the connection.
 */
export function rebuildWorker<Spec>(open: (spec: Spec, options: { readonly: boolean }) => EventLog) {
  const opened = new Map<string, EventLog>();
  return async function rebuildPartition(task: RebuildTask<Spec>) {
    const key = JSON.stringify(task.log);
    let log = opened.get(key);
    if (log === undefined) {
      log = open(task.log, { readonly: true });
      opened.set(key, log);
    }
    const part = await projectStreams(log, task.streams);
    // move() marks the result as transferable: its small buffers change threads without a copy; the
    // large ones are shared memory, which crosses as is.
    return move({
      get [transferableSymbol]() {
        return [part.offsets.buffer, part.lastXY.buffer];
      },
      get [valueSymbol]() {
        return part;
      },
    });
  };
}
