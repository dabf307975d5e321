// Piscina worker: seals (SHA-256) and writes a projection checkpoint snapshot, off the event loop.
// The hash is about half of an encode (`npx tsx bench/checkpoint-codec.ts` beside its SHA-256 floor,
// BENCHMARKS.md); the event loop now only copies.

import { sealCheckpoint } from '../src/projections/checkpoint/codec.js';
import { saveCheckpoint, type CheckpointSaveTask } from '../src/projections/checkpoint/checkpoint-file.js';

export default async function save({ snapshot, dataDir }: CheckpointSaveTask): Promise<void> {
  await saveCheckpoint(dataDir, sealCheckpoint(Buffer.from(snapshot)));
}
