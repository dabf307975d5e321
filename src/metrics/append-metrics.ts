// What the log's appends cost, whichever adapter is behind the port: events per committed append,
// seconds until the append resolved (durable), and failed appends by error code.

import { Counter, type Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram.js';
import { ERRORS } from '../domain/errors.js';

/** Events per append: one robot's batch, 1 to the actors' maxBatch (4096). */
export const BATCH_EVENTS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
/** Appends (robot batches) per group commit: up to every robot of a large fleet. */
export const COMMIT_APPENDS_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];
/**
 * From a tenth of a millisecond (a small local commit) to seconds (a remote store, a stalled disk);
 * a 1,000-robot group commit of the embedded log takes milliseconds (BENCHMARKS.md).
 */
export const COMMIT_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const KNOWN_CODES = new Set(Object.values(ERRORS).map((definition) => definition.code));
/** The failure label for an error without one of our codes (a defect or a raw driver error). */
export const UNKNOWN_CODE = 'unknown';

export class AppendMetrics {
  // Observed on every append: the fast histogram, not prom-client's (see fast-histogram.ts).
  private readonly batchEvents: FastHistogram;
  private readonly appendSeconds: FastHistogram;
  private readonly failures: Counter<'code'>;
  private readonly groupAppends: FastHistogram;
  private readonly groupSeconds: FastHistogram;

  constructor(registry: Registry) {
    this.batchEvents = new FastHistogram({
      name: 'telemetry_log_append_batch_events',
      help: 'Events per committed append to the event log (one robot batch per append).',
      buckets: BATCH_EVENTS_BUCKETS,
      registers: [registry],
    });
    this.appendSeconds = new FastHistogram({
      name: 'telemetry_log_append_duration_seconds',
      help: 'Seconds from calling append until it resolved with the events durable (committed appends only).',
      buckets: COMMIT_SECONDS_BUCKETS,
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'telemetry_log_append_failures_total',
      help: 'Appends the event log refused or could not commit, by error code (TELEMETRY_REVISION_CONFLICT: another writer appended first).',
      labelNames: ['code'],
      registers: [registry],
    });
    this.groupAppends = new FastHistogram({
      name: 'telemetry_log_commit_appends',
      help: 'Appends (robot batches) per group commit of the embedded log; a group commit is one transaction and one fsync.',
      buckets: COMMIT_APPENDS_BUCKETS,
      registers: [registry],
    });
    this.groupSeconds = new FastHistogram({
      name: 'telemetry_log_commit_seconds',
      help: "Seconds the embedded log's writer thread spent on one group commit: inserts, index upkeep, COMMIT and fsync.",
      buckets: COMMIT_SECONDS_BUCKETS,
      registers: [registry],
    });
  }

  /** One group commit of a log that reports them (EventLog.observeCommits). */
  groupCommitted(appends: number, seconds: number): void {
    this.groupAppends.observe(appends);
    this.groupSeconds.observe(seconds);
  }

  committed(events: number, seconds: number): void {
    this.batchEvents.observe(events);
    this.appendSeconds.observe(seconds);
  }

  failed(error: unknown): void {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    this.refused(typeof code === 'string' && KNOWN_CODES.has(code) ? code : UNKNOWN_CODE);
  }

  /** An append refused with `code` (one of ours, or UNKNOWN_CODE). */
  refused(code: string): void {
    this.failures.inc({ code });
  }
}
