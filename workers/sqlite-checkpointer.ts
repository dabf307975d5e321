// Worker thread: copies the embedded log's write-ahead log into the database file, beside the
// writer rather than inside its commits. SQLite's own checkpoint runs inside the commit that crosses
// its threshold, and that commit — with every frame waiting on it — takes the copy and an extra
// fsync of the database file. Here a PASSIVE checkpoint runs on a connection of its own right after
// each commit the writer reports (several reports waiting make one checkpoint), while the writer is
// already taking the next batch; caught up before the writer's next transaction, it lets SQLite
// start the write-ahead log over. The writer keeps a large threshold of its own as a backstop.

import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { LOG_FILE_NAME } from '../src/store/sqlite/schema.js';

const { dataDir } = workerData as { dataDir: string };
const db = new Database(join(dataDir, LOG_FILE_NAME), { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let scheduled = false;

const port = parentPort!;

/** 'commit' after each commit of the writer; 'close' when it stops (this thread then ends). */
port.on('message', (message: 'commit' | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  if (scheduled) return;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    if (!db.open) return;
    try {
      checkpoint.run();
    } catch {
      // Only an optimisation (busy, or a transient I/O error): the next commit's report tries
      // again, and the writer's own threshold keeps the write-ahead log bounded meanwhile.
    }
  });
});
