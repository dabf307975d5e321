// Allocation sampling for a Node process, loaded before it starts:
//
//   ALLOC_PROFILE_OUT=/tmp/alloc.heapprofile [ALLOC_PROFILE_START_MS=4000] [ALLOC_PROFILE_MS=6000] \
//     node --import ./dist/bench/profiling/alloc-sampling.js dist/src/cli.js
//
// `node --heap-prof` keeps only the samples of objects still alive when it stops, which hides what
// a hot path allocates and the young generation collects; this samples through the inspector with
// collected objects included, on the main thread only, over a window (after START_MS, for MS), and
// writes a `.heapprofile` that Chrome DevTools opens and `bench/profiling/summarize.ts` ranks.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { isMainThread } from 'node:worker_threads';

const out = process.env.ALLOC_PROFILE_OUT;
if (isMainThread && out !== undefined && out !== '') {
  const startMs = Number(process.env.ALLOC_PROFILE_START_MS ?? 0);
  const durationMs = Number(process.env.ALLOC_PROFILE_MS ?? 5000);
  const session = new Session();
  session.connect();
  const stop = (): void => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (error === null) writeFileSync(out, JSON.stringify(result.profile));
      else process.stderr.write(`alloc-sampling: ${error.message}\n`);
      session.disconnect();
    });
  };
  setTimeout(() => {
    session.post('HeapProfiler.enable', () => {
      session.post(
        'HeapProfiler.startSampling',
        { samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true },
        () => setTimeout(stop, durationMs).unref(),
      );
    });
  }, startMs).unref();
}
