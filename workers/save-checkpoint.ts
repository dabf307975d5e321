// Piscina worker: writes a projection checkpoint, off the event loop. It reads the robots' arrays
// straight from the projections' shared memory (the event loop copies nothing), hashing (SHA-256)
// and writing them a piece at a time, without laying the whole file out in memory first; paced,
// except at shutdown.

import { checkpointPieces } from '../src/projections/checkpoint/codec.js';
import { saveCheckpoint, type CheckpointSaveTask } from '../src/projections/checkpoint/checkpoint-file.js';
import { robotStates } from '../src/projections/checkpoint/shared-snapshot.js';

export default async function save({ meta, position, robots, dataDir, paced }: CheckpointSaveTask): Promise<void> {
  await saveCheckpoint(dataDir, checkpointPieces({ meta, position, robots: robotStates(robots) }), { paced });
}
