// Fills an embedded log with a synthetic fleet for benchmarks: `robots` random walks of `events`
// events each, appended `chunk` events per robot per commit (1 is what a live fleet of
// one-event-per-frame robots produces; larger chunks are what batching robots produce).

import { EVENT_STRIDE } from '../../src/domain/location.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { mulberry32 } from './random.js';

export interface SeedOptions {
  readonly dataDir: string;
  readonly robots: number;
  readonly events: number;
  readonly chunk: number;
  readonly seed?: number;
  /** Called after each round of commits with the events written so far. */
  readonly onProgress?: (written: number, total: number) => void;
}

export async function seedLog(options: SeedOptions): Promise<{ events: number; robots: string[] }> {
  const { robots, events, chunk } = options;
  const log = new SqliteEventLog({ dataDir: options.dataDir, pollIntervalMs: 0 });
  const random = mulberry32(options.seed ?? 1);
  const names = Array.from({ length: robots }, (_, i) => `bench-${i}`);
  const x = new Float64Array(robots);
  const y = new Float64Array(robots);
  const heads: Array<bigint | 'no_stream'> = names.map(() => 'no_stream');
  let written = 0;
  try {
    for (let t = 0; t < events; t += chunk) {
      const n = Math.min(chunk, events - t);
      const appends: Array<Promise<unknown>> = [];
      for (let r = 0; r < robots; r++) {
        const block = new Float64Array(n * EVENT_STRIDE);
        for (let k = 0; k < n; k++) {
          x[r] = x[r]! + (random() - 0.5);
          y[r] = y[r]! + (random() - 0.5);
          block[k * EVENT_STRIDE] = x[r]!;
          block[k * EVENT_STRIDE + 1] = y[r]!;
          block[k * EVENT_STRIDE + 2] = t + k;
        }
        appends.push(
          log.append(names[r]!, block, heads[r]!).then((result) => {
            heads[r] = result.nextExpectedRevision;
          }),
        );
      }
      // One group commit per round: every robot's chunk in one transaction.
      await Promise.all(appends);
      written += n * robots;
      options.onProgress?.(written, robots * events);
    }
  } finally {
    await log.close();
  }
  return { events: written, robots: names };
}
