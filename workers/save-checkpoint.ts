// Piscina worker: seals (SHA-256) and writes a projection checkpoint snapshot, off the event loop.
// At 5,000,000 events the hash alone blocked ingest for ~80 ms; the event loop now only copies.

import { sealCheckpoint } from '../src/projections/checkpoint/codec.js';
import { saveCheckpoint, type CheckpointSaveTask } from '../src/projections/checkpoint/checkpoint-file.js';

export default async function save({ snapshot, dataDir }: CheckpointSaveTask): Promise<void> {
  await saveCheckpoint(dataDir, sealCheckpoint(Buffer.from(snapshot)));
}
