// Worker thread: the embedded log's writer. Commits the batches writer-thread.ts sends, one at a
// time and in order, each in one transaction and one fsync, and answers each with its outcome.
// The thread owns the only write connection of its SqliteEventLog; reads stay on the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { startWorker } from '../src/runtime/worker-entry.js';
import { LogWriter } from '../src/store/sqlite/log-writer.js';
import { openLogDatabase } from '../src/store/sqlite/schema.js';
import type { WriterReply, WriterRequest, WriterStart } from '../src/store/sqlite/writer-thread.js';

const { dataDir, indexEveryRows } = workerData as WriterStart;
const port = parentPort!;
const db = openLogDatabase(dataDir);
// Foreign keys are not checked on this connection: they would cost a lookup per row, and they hold
// anyway. A row reaches `chunks` only past the trigger that moves its stream's head on, which
// requires the stream's `heads` row, and `heads` rows are made only by the trigger on a new `streams` row; nothing is
// ever deleted (triggers refuse it).
db.pragma('foreign_keys = OFF');
// Checkpoints run on a thread of their own after each commit (workers/sqlite-checkpointer.ts); this
// connection checkpoints only if the write-ahead log reaches 16 MiB regardless (the default is 4 MiB).
db.pragma('wal_autocheckpoint = 4096');
// Once a checkpoint has caught up, SQLite starts the write-ahead log over; past this size the file
// is also cut back, so a burst (or the checkpointer's own start) does not leave it large on disk.
db.pragma(`journal_size_limit = ${4 << 20}`);
const checkpointer = startWorker('sqlite-checkpointer', { workerData: { dataDir } });
checkpointer.unref();
checkpointer.on('error', () => undefined); // the backstop above keeps the log bounded without it
const checkpointerExited = new Promise<void>((resolve) => checkpointer.once('exit', () => resolve()));
const writer = new LogWriter(db, indexEveryRows);
// Tails left by a crash, or by other processes, are indexed once here rather than walked by every
// read until this writer happens to write to them again.
writer.indexAllTails();

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    try {
      writer.indexAllTails(); // a clean stop leaves no tails
    } catch {
      // Only an optimisation: reads walk the chain of whatever is left unindexed.
    }
    // The checkpointer closes its connection first, so this one is the last and SQLite folds the
    // write-ahead log into the database as it closes.
    checkpointer.postMessage('close');
    void checkpointerExited.then(() => {
      db.close();
      port.postMessage({ kind: 'closed' } satisfies WriterReply); // the main thread then ends this thread
    });
    return;
  }
  try {
    const outcome = writer.commit(request.batch);
    const reply: WriterReply = { kind: 'committed', outcome };
    port.postMessage(reply, [outcome.firstRevisions.buffer, outcome.conflictNext.buffer, outcome.rowPositions.buffer]);
    checkpointer.postMessage('commit');
  } catch (error) {
    const reply: WriterReply = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
