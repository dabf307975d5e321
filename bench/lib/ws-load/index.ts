// runWsLoad: a WebSocket ingest load run spread over worker threads. Each thread runs its share of
// the connections on raw sockets with pre-built masked frames; the parent starts them together,
// shows progress, and merges their counts and latency histograms into one report.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { mergeHistograms, summaryMs, type LatencySummaryMs } from './latency.js';
import type { WorkerMessage, WorkerPlan, WorkerResult } from './protocol.js';
import { TIMEOUTS, fillSpec, planThreads, type WsLoadSpec } from './spec.js';
import { addStatusCounts, newStatusCounts, outcomesOf } from './statuses.js';

export type { WsLoadSpec } from './spec.js';

export interface WsLoadReport {
  /** The measured window: from the start of sending to its end. */
  readonly seconds: number;
  readonly framesSent: number;
  readonly framesAnswered: number;
  /** Statuses received, including those answered while draining after the window. */
  readonly events: number;
  /** Statuses received within the measured window, per second of it. */
  readonly eventsPerSecond: number;
  /** By status: OK, DUP, STALE, or the full 'ERR …' line. */
  readonly outcomes: Record<string, number>;
  /** Reply time − send time (closed loop) or − scheduled send time (open loop). */
  readonly latencyMs: LatencySummaryMs;
  /** Connections and threads actually used (at most one connection per robot, one thread per connection). */
  readonly connections: number;
  readonly threads: number;
  readonly runId: string;
  /** CPU time of this whole process (every thread) from start to report, and its average in cores. */
  readonly cpu: { readonly userSeconds: number; readonly systemSeconds: number; readonly cores: number };
  /** Anything that went wrong on a connection: closes, protocol errors, unanswered frames. */
  readonly errors: readonly string[];
}

const fromSources = import.meta.url.endsWith('.ts');
const PROGRESS_MS = 1000;

/**
 * The thread running worker.js (compiled) or worker.ts (from sources). On Node 20, tsx registers its
 * ESM hooks on the main thread only, so `execArgv: ['--import', 'tsx']` cannot load a .ts worker
 * entry ("Unknown file extension"); piscina gets by because it require()s the file. So from sources
 * a two-line bootstrap loads tsx's require hook in the thread and require()s worker.ts through it.
 */
function startWorker(plan: WorkerPlan): Worker {
  const entry = fileURLToPath(new URL(`./worker${fromSources ? '.ts' : '.js'}`, import.meta.url));
  if (!fromSources) return new Worker(entry, { workerData: plan });
  const tsxCjs = createRequire(import.meta.url).resolve('tsx/cjs');
  return new Worker(`require(${JSON.stringify(tsxCjs)});\nrequire(${JSON.stringify(entry)});`, { eval: true, workerData: plan });
}

/** One load thread, seen from the parent. */
class LoadThread {
  readonly ready: Promise<void>;
  readonly done: Promise<WorkerResult>;
  events = 0;
  framesSent = 0;
  private readonly worker: Worker;

  constructor(plan: WorkerPlan) {
    this.worker = startWorker(plan);
    let onReady!: () => void;
    let onDone!: (result: WorkerResult) => void;
    let onFailed!: (error: Error) => void;
    const failed = new Promise<never>((_, reject) => (onFailed = reject));
    this.ready = Promise.race([new Promise<void>((resolve) => (onReady = resolve)), failed]);
    this.done = Promise.race([new Promise<WorkerResult>((resolve) => (onDone = resolve)), failed]);
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') onReady();
      else if (message.type === 'progress') {
        this.events = message.events;
        this.framesSent = message.framesSent;
      } else if (message.type === 'done') onDone(message.result);
      else onFailed(new Error(`load thread failed: ${message.message}`));
    });
    this.worker.on('error', (error) => onFailed(error));
    this.worker.on('exit', (code) => onFailed(new Error(`load thread exited (code ${code}) before reporting`)));
  }

  start(seconds: number, warmupSeconds: number): void {
    this.worker.postMessage({ type: 'start', seconds, warmupSeconds });
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runWsLoad(spec: WsLoadSpec): Promise<WsLoadReport> {
  const filled = fillSpec(spec);
  const threads = planThreads(filled).map((plan) => new LoadThread(plan));
  let progress: NodeJS.Timeout | undefined;
  try {
    await within(Promise.all(threads.map((t) => t.ready)), TIMEOUTS.handshakeMs + 30_000, 'building frames and opening connections');
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (const thread of threads) thread.start(filled.seconds, filled.warmupSeconds);
    if (spec.onProgress !== undefined) {
      const report = spec.onProgress;
      progress = setInterval(() => {
        let events = 0;
        let framesSent = 0;
        for (const t of threads) {
          events += t.events;
          framesSent += t.framesSent;
        }
        report({ elapsedSeconds: (performance.now() - started) / 1000, events, framesSent });
      }, PROGRESS_MS);
    }
    const bound = (filled.warmupSeconds + filled.seconds) * 1000 + TIMEOUTS.drainMs + TIMEOUTS.closeMs + 15_000;
    const results = await within(Promise.all(threads.map((t) => t.done)), bound, 'the load run');
    const cpu = process.cpuUsage(cpuBefore);
    const wallSeconds = (performance.now() - started) / 1000;
    return merge(filled, results, {
      userSeconds: round3(cpu.user / 1e6),
      systemSeconds: round3(cpu.system / 1e6),
      cores: round3((cpu.user + cpu.system) / 1e6 / wallSeconds),
    });
  } finally {
    clearInterval(progress);
    await Promise.all(threads.map((t) => t.stop()));
  }
}

function merge(spec: ReturnType<typeof fillSpec>, results: readonly WorkerResult[], cpu: WsLoadReport['cpu']): WsLoadReport {
  const statuses = newStatusCounts();
  let framesSent = 0;
  let framesAnswered = 0;
  let events = 0;
  let eventsInWindow = 0;
  const errors: string[] = [];
  for (const r of results) {
    framesSent += r.framesSent;
    framesAnswered += r.framesAnswered;
    events += r.events;
    eventsInWindow += r.eventsInWindow;
    addStatusCounts(statuses, r.statuses);
    errors.push(...r.errors);
  }
  return {
    seconds: spec.seconds,
    framesSent,
    framesAnswered,
    events,
    eventsPerSecond: Math.round(eventsInWindow / spec.seconds),
    outcomes: outcomesOf(statuses),
    latencyMs: summaryMs(mergeHistograms(results.map((r) => r.histogram))),
    connections: spec.connections,
    threads: spec.threads,
    runId: spec.runId,
    cpu,
    errors,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
