// Piscina worker: writes a projection checkpoint segment and the manifest naming it, off the event
// loop. It reads the robots' arrays straight from the projections' shared memory (the event loop
// copies nothing), hashing (SHA-256) and writing them a piece at a time, without laying the segment
// out in memory first; paced, except at shutdown.

import { saveSegment, type CheckpointSaveTask, type SegmentEntry } from '../src/projections/checkpoint/checkpoint-chain.js';

export default function save(task: CheckpointSaveTask): Promise<SegmentEntry> {
  return saveSegment(task);
}
