// Worker thread: the embedded log's writer. Commits the batches writer-thread.ts sends, one at a
// time and in order, each in one transaction and one fsync, and answers each with its outcome; after
// each answer it copies a slice of the commits into the streams' rows (stream-merger.ts), and
// merges whatever is left once no batch has come for a moment. The thread owns the only write
// connection of its SqliteEventLog; reads stay on the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import { startWorker } from '../src/runtime/worker-entry.js';
import { LogWriter } from '../src/store/sqlite/log-writer.js';
import { openLogDatabase } from '../src/store/sqlite/schema.js';
import { StreamMerger } from '../src/store/sqlite/stream-merger.js';
import type { WriterNotice, WriterReply, WriterRequest, WriterStart } from '../src/store/sqlite/writer-thread.js';

const { dataDir, indexEveryRows, mergeCommits, mergeWhenIdle } = workerData as WriterStart;

/** How long the thread waits without a batch before it merges every commit left. */
const IDLE_MERGE_MS = 20;
/** A merge that keeps failing is told of once per this long, not after every commit. */
const REPORT_EVERY_MS = 30_000;

const port = parentPort!;
const db = openLogDatabase(dataDir);
// Foreign keys are not checked on this connection: they would cost a lookup per row, and they hold
// anyway. A row gets into `chunks` only past the trigger that extends its stream's rows, which
// requires the stream's `heads` row, and `heads` rows are made only by the trigger on a new
// `streams` row; a commit names only streams its writer found or created in the same transaction;
// nothing is ever deleted (triggers refuse it).
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

/**
 * Merging only moves events the commits already hold durably: when it fails (another process holds
 * the write lock too long, or a defect), the next step or the next start tries again, and reads
 * meanwhile find the events in the commits. The main thread hears of it, at most every so often.
 */
let reportedAt = -Infinity;
function tryTo(work: () => void): void {
  try {
    work();
  } catch (error) {
    const now = performance.now();
    if (now - reportedAt < REPORT_EVERY_MS) return;
    reportedAt = now;
    const notice: WriterNotice = { kind: 'merge-failed', message: error instanceof Error ? error.message : String(error) };
    port.postMessage(notice);
  }
}

const merger = new StreamMerger(db, { indexEveryRows, mergeCommits });
const writer = new LogWriter(db, (commit) => merger.committed(commit));
// Commits left unmerged by a crash, or by other processes, and their streams' tails are taken in
// once here, rather than read from the commits (or walked) by every read until this writer happens
// to reach them. Only an optimisation: reads find whatever is left.
tryTo(() => {
  merger.mergeAll();
  merger.indexAllTails();
});
const idleMerge =
  mergeWhenIdle === false
    ? undefined
    : setTimeout(() => {
        tryTo(() => merger.mergeAll());
        checkpointer.postMessage('commit');
      }, IDLE_MERGE_MS).unref();

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    clearTimeout(idleMerge);
    // A clean stop leaves nothing to merge or walk.
    tryTo(() => {
      merger.mergeAll();
      merger.indexAllTails();
    });
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
    port.postMessage(reply, [outcome.firstRevisions.buffer, outcome.conflictNext.buffer, outcome.positions.buffer]);
  } catch (error) {
    const reply: WriterReply = { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
    return;
  }
  // While the event loop takes the outcome in and gathers the next batch.
  tryTo(() => merger.step());
  checkpointer.postMessage('commit');
  idleMerge?.refresh();
});
