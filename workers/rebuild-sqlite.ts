// Piscina worker: rebuilds a partition of robots from the embedded log. Loads only the SQLite
// adapter, so a thread starts fast; the logic is in src/projections/rebuild-worker.ts.

import { rebuildWorker } from '../src/projections/rebuild-worker.js';
import { openSqliteLog } from '../src/store/sqlite/open.js';

export default rebuildWorker(openSqliteLog);
