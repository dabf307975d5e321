// The main thread's handle on the embedded log's writer thread (workers/sqlite-writer.ts): sends
// batches, buffers transferred rather than copied; the thread commits them in order and answers
// each with its outcome, in the same order.
//
// The thread keeps the process alive only while a batch is in flight, so an acknowledged append is
// always answered, and a log someone forgot to close does not hold the process open. If the thread
// dies, the batches in flight fail (their appends are answered as unavailable: nothing of them was
// acknowledged) and the next batch starts a new thread. Besides its answers, the thread tells of
// background work that failed (merging commits into the streams' rows, which it tries again).

import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../runtime/worker-entry.js';
import type { WriterBatch, WriterOutcome } from './log-writer.js';

export interface WriterStart {
  readonly dataDir: string;
  readonly indexEveryRows: number | undefined;
  readonly mergeCommits?: number;
  /** False: commits are merged only as more come, at start and at close (tests); true by default. */
  readonly mergeWhenIdle?: boolean;
}

export type WriterRequest = { readonly kind: 'commit'; readonly batch: WriterBatch } | { readonly kind: 'close' };

export type WriterReply =
  | { readonly kind: 'committed'; readonly outcome: WriterOutcome }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'closed' };

/** Sent by the thread on its own, not as an answer: background work failed and will be tried again. */
export type WriterNotice = { readonly kind: 'merge-failed'; readonly message: string };

interface Waiting {
  readonly worker: Worker;
  resolve(reply: WriterReply): void;
  reject(error: Error): void;
}

export class WriterThread {
  private worker: Worker | undefined;
  /** Requests sent and not yet answered, oldest first. */
  private waiting: Waiting[] = [];

  constructor(
    private readonly start: WriterStart,
    private readonly onMergeFailure: (error: Error) => void = () => undefined,
  ) {}

  /** Commits one batch after those sent before it; rejects when the thread fails or dies. */
  async commit(batch: WriterBatch): Promise<WriterOutcome> {
    const reply = await this.request({ kind: 'commit', batch }, [batch.ids.buffer, batch.expected.buffer, batch.counts.buffer, batch.events.buffer]);
    if (reply.kind === 'committed') return reply.outcome;
    throw new Error(reply.kind === 'failed' ? reply.message : `unexpected writer reply ${reply.kind}`);
  }

  /** Lets the thread index what is left and close its connection, then ends it. */
  async close(): Promise<void> {
    if (this.worker === undefined) return;
    const worker = this.worker;
    try {
      await this.request({ kind: 'close' }, []);
    } finally {
      this.worker = undefined;
      await worker.terminate();
    }
  }

  private request(request: WriterRequest, transfer: ArrayBuffer[]): Promise<WriterReply> {
    const worker = this.worker ?? this.spawn();
    return new Promise<WriterReply>((resolve, reject) => {
      this.waiting.push({ worker, resolve, reject });
      worker.ref();
      worker.postMessage(request, transfer);
    });
  }

  private spawn(): Worker {
    const worker = startWorker('sqlite-writer', { workerData: this.start satisfies WriterStart });
    worker.unref();
    worker.on('message', (reply: WriterReply | WriterNotice) => {
      if (reply.kind === 'merge-failed') {
        this.onMergeFailure(new Error(`merging the log's commits into its streams' rows failed (it is tried again; reads find the events in the commits meanwhile): ${reply.message}`));
        return;
      }
      const waiting = this.waiting.shift();
      if (this.waiting.length === 0) worker.unref();
      waiting?.resolve(reply);
    });
    worker.on('error', (error) => this.died(worker, error));
    worker.on('exit', (code) => this.died(worker, new Error(`the log writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Fails every request the thread had not answered. */
  private died(worker: Worker, error: Error): void {
    if (this.worker === worker) this.worker = undefined;
    worker.unref();
    const lost = this.waiting.filter((w) => w.worker === worker);
    this.waiting = this.waiting.filter((w) => w.worker !== worker);
    for (const waiting of lost) waiting.reject(error);
  }
}
