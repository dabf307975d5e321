// Worker thread: the embedded log's writer. Commits the batches writer-thread.ts sends, one at a
// time and in order, each in one transaction and one fsync, and answers each with its outcome.
// The thread owns the only write connection of its SqliteEventLog; reads stay on the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { LogWriter } from '../src/store/sqlite/log-writer.js';
import { openLogDatabase } from '../src/store/sqlite/schema.js';
import type { WriterReply, WriterRequest, WriterStart } from '../src/store/sqlite/writer-thread.js';

const { dataDir, indexEveryRows } = workerData as WriterStart;
const port = parentPort!;
const db = openLogDatabase(dataDir);
// Foreign keys are not checked on this connection: they would cost a lookup per row, and they hold
// anyway. A row reaches `chunks` only past the contiguity trigger, which requires its stream's
// `heads` row, and `heads` rows are made only by the trigger on a new `streams` row; nothing is
// ever deleted (triggers refuse it).
db.pragma('foreign_keys = OFF');
const writer = new LogWriter(db, indexEveryRows);
// Tails left by a crash, or by other processes, are indexed once here rather than walked by every
// read until this writer happens to write to them again.
writer.indexAllTails();

/** Tails indexed per transaction between commits: small, so a batch arriving meanwhile waits little. */
const INDEX_STREAMS_PER_STEP = 16;
let indexScheduled = false;

/**
 * Index upkeep runs when the thread is otherwise idle: a batch that arrives is taken before the
 * next step (messages are handled in the event loop's poll phase, before setImmediate callbacks).
 */
function scheduleIndexing(): void {
  if (indexScheduled || !writer.indexing) return;
  indexScheduled = true;
  setImmediate(() => {
    indexScheduled = false;
    try {
      writer.indexDue(INDEX_STREAMS_PER_STEP);
    } catch {
      // Only an optimisation: reads walk the chain of whatever is left unindexed; the next commit
      // (or the next start) tries again.
      return;
    }
    scheduleIndexing();
  });
}

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    try {
      writer.indexAllTails(); // a clean stop leaves no tails
    } catch {
      // Only an optimisation: reads walk the chain of whatever is left unindexed.
    }
    db.close();
    port.postMessage({ kind: 'closed' } satisfies WriterReply); // the main thread then ends this thread
    return;
  }
  try {
    const outcome = writer.commit(request.batch);
    const reply: WriterReply = { kind: 'committed', outcome };
    port.postMessage(reply, [outcome.firstRevisions.buffer, outcome.conflictNext.buffer, outcome.rowPositions.buffer]);
    scheduleIndexing();
  } catch (error) {
    const reply: WriterReply = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
});
