// Piscina worker: rebuilds a partition of robots from EventStoreDB; the logic is in
// src/projections/rebuild-worker.ts.

import { openEventStoreLog } from '../src/store/eventstoredb/open.js';
import { rebuildWorker } from '../src/projections/rebuild-worker.js';

export default rebuildWorker(openEventStoreLog);
