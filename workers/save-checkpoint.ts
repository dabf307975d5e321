// Piscina worker: writes a projection checkpoint segment and the manifest naming it, off the event
// loop. It reads the robots' arrays straight from the projections' shared memory (the event loop
// copies nothing), hashing (SHA-256) and writing them a piece at a time, without laying the segment
// out in memory first; paced, except at shutdown.
//
// A save is background work on cores that ingest keeps busy, so the thread runs at the lowest CPU
// priority and writes with blocking calls: the kernel's part of the writing runs on this thread
// too, at that priority, instead of on libuv's pool at the service's (BENCHMARKS.md, "Checkpoints
// at the lowest priority").

import { saveSegment, type CheckpointSaveTask, type SegmentEntry } from '../src/projections/checkpoint/checkpoint-chain.js';
import { lowerThisThreadsPriority } from '../src/runtime/thread-priority.js';

lowerThisThreadsPriority();

export default function save(task: CheckpointSaveTask): Promise<SegmentEntry> {
  return saveSegment(task, { blocking: true });
}
