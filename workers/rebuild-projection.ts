// Piscina worker: projects one partition of robots from the log and hands the typed arrays back
// by transfer. The logic lives in src/projections/project-streams.ts.

import { move, transferableSymbol, valueSymbol } from 'piscina';
import { projectStreams } from '../src/projections/project-streams.js';
import { openLog, type LogSpec } from '../src/store/log-spec.js';

export interface RebuildTask {
  readonly log: LogSpec;
  readonly streams: string[];
}

export default async function rebuildPartition(task: RebuildTask) {
  const log = openLog(task.log, { readonly: true });
  try {
    const part = await projectStreams(log, task.streams);
    // move() marks the result as transferable: its four buffers change threads without a copy.
    return move({
      get [transferableSymbol]() {
        return [part.offsets.buffer, part.ts.buffer, part.cum.buffer, part.lastXY.buffer];
      },
      get [valueSymbol]() {
        return part;
      },
    });
  } finally {
    await log.close();
  }
}
