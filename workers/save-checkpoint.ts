// Piscina worker: lays out, seals (SHA-256) and writes a projection checkpoint, off the event loop.
// The hash is about half of an encode (`npx tsx bench/checkpoint-codec.ts` beside its SHA-256 floor,
// BENCHMARKS.md); the event loop only copies each robot's arrays, a slice of the fleet per turn.

import { layOutCheckpoint, sealCheckpoint } from '../src/projections/checkpoint/codec.js';
import { saveCheckpoint, type CheckpointSaveTask } from '../src/projections/checkpoint/checkpoint-file.js';

export default async function save({ content, dataDir }: CheckpointSaveTask): Promise<void> {
  await saveCheckpoint(dataDir, sealCheckpoint(layOutCheckpoint(content)));
}
