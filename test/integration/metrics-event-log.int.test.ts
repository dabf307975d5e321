// The append-measuring EventLog decorator over the real SQLite log in a temp dir: committed appends
// land in the histograms, refusals are counted by code, and everything else passes through intact.

import { Registry } from 'prom-client';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AppendMetrics, UNKNOWN_CODE } from '../../src/metrics/append-metrics.js';
import { MeteredEventLog } from '../../src/metrics/metered-event-log.js';
import { APPEND_CONFLICT, APPEND_FAILED, EXPECT_NO_STREAM, LOG_START, type LogPosition, type RecordedChunk } from '../../src/store/event-log.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { makeTempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof makeTempDir>;
let inner: SqliteEventLog;
let registry: Registry;
let log: MeteredEventLog;

beforeEach(() => {
  dir = makeTempDir();
  inner = new SqliteEventLog({ dataDir: dir.path, pollIntervalMs: 0 });
  registry = new Registry();
  log = new MeteredEventLog(inner, new AppendMetrics(registry));
});

afterEach(async () => {
  await log.close();
  dir.remove();
});

function events(...timestamps: number[]): Float64Array {
  return Float64Array.from(timestamps.flatMap((t) => [t, -t, t]));
}

/** Value of `name` (a histogram's `_bucket`/`_count`/`_sum`, or a counter) with exactly `labels`. */
async function read(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const base = name.replace(/_(bucket|count|sum)$/, '');
  const metric = registry.getSingleMetric(base);
  if (metric === undefined) throw new Error(`no metric ${base}`);
  const { values } = await metric.get();
  const wanted = JSON.stringify(labels);
  // Histogram values carry the series name (`_bucket`, `_count`, `_sum`); prom-client's types omit it.
  const found = (values as Array<(typeof values)[number] & { metricName?: string }>).filter(
    (v) => (v.metricName ?? base) === name && JSON.stringify(Object.fromEntries(Object.entries(v.labels).sort().map(([k, l]) => [k, String(l)]))) === wanted,
  );
  return found[0]?.value;
}

it('observes events per committed append and its duration; refusals counted by code, not observed', async () => {
  await log.append('alpha', events(1, 2, 3), 'no_stream');
  await log.append('alpha', events(4, 5), 2n);
  await log.append('beta', events(7), 'no_stream');
  const conflict = await log.append('alpha', events(9), 0n).catch((error: unknown) => error);
  expect(conflict).toMatchObject({ code: 'TELEMETRY_REVISION_CONFLICT' }); // the adapter's own error, rethrown
  const invalid = await log.append('alpha', new Float64Array(0), 4n).catch((error: unknown) => error);
  expect(invalid).toBeInstanceOf(RangeError);

  expect(await read('telemetry_log_append_batch_events_count')).toBe(3);
  expect(await read('telemetry_log_append_batch_events_sum')).toBe(6);
  expect(await read('telemetry_log_append_batch_events_bucket', { le: '2' })).toBe(2); // 2 and 1 event(s)
  expect(await read('telemetry_log_append_batch_events_bucket', { le: '4' })).toBe(3);
  expect(await read('telemetry_log_append_duration_seconds_count')).toBe(3);
  const seconds = (await read('telemetry_log_append_duration_seconds_sum'))!;
  expect(seconds).toBeGreaterThan(0);
  expect(seconds).toBeLessThan(30);
  expect(await read('telemetry_log_append_failures_total', { code: 'TELEMETRY_REVISION_CONFLICT' })).toBe(1);
  expect(await read('telemetry_log_append_failures_total', { code: UNKNOWN_CODE })).toBe(1);
  // Awaited one by one, each append (the refused one included) was a group commit of its own.
  expect(await read('telemetry_log_commit_appends_count')).toBe(4);
  expect(await read('telemetry_log_commit_appends_sum')).toBe(4);
  expect(await read('telemetry_log_commit_seconds_count')).toBe(4);
  expect((await read('telemetry_log_commit_seconds_sum'))!).toBeGreaterThan(0);

  await inner.close(); // the store goes away: appends fail with our code
  expect(log.available).toBe(false);
  await expect(log.append('alpha', events(6), 4n)).rejects.toMatchObject({ code: 'TELEMETRY_STORE_UNAVAILABLE' });
  expect(await read('telemetry_log_append_failures_total', { code: 'TELEMETRY_STORE_UNAVAILABLE' })).toBe(1);
  expect(await read('telemetry_log_append_batch_events_count')).toBe(3);
});

it('observes each append of an appendMany as the single appends are: committed, refused and failed', async () => {
  await log.append('alpha', events(1), 'no_stream');
  const batch = {
    streams: ['alpha', 'beta', 'alpha'],
    expected: Float64Array.of(0, EXPECT_NO_STREAM, EXPECT_NO_STREAM),
    counts: Int32Array.of(2, 3, 1),
    events: events(2, 3, 4, 5, 6, 7),
  };
  const result = await log.appendMany(batch);
  expect([...result.firstRevisions]).toEqual([1, 0, APPEND_CONFLICT]);
  expect(await read('telemetry_log_append_batch_events_count')).toBe(3);
  expect(await read('telemetry_log_append_batch_events_sum')).toBe(6);
  expect(await read('telemetry_log_append_duration_seconds_count')).toBe(3);
  expect(await read('telemetry_log_append_failures_total', { code: 'TELEMETRY_REVISION_CONFLICT' })).toBe(1);
  expect(await read('telemetry_log_commit_appends_sum')).toBe(4); // 1, then the batch's 3 in one commit

  await inner.close();
  const failed = await log.appendMany(batch);
  expect([...failed.firstRevisions]).toEqual([APPEND_FAILED, APPEND_FAILED, APPEND_FAILED]);
  expect(await read('telemetry_log_append_failures_total', { code: 'TELEMETRY_STORE_UNAVAILABLE' })).toBe(3);
  expect(await read('telemetry_log_append_batch_events_count')).toBe(3);
});

it('observes each group commit: appends made together count once, with all of them', async () => {
  await Promise.all([log.append('alpha', events(1), 'no_stream'), log.append('beta', events(2), 'no_stream'), log.append('gamma', events(3), 'no_stream')]);
  expect(await read('telemetry_log_commit_appends_count')).toBe(1);
  expect(await read('telemetry_log_commit_appends_sum')).toBe(3);
  expect(await read('telemetry_log_commit_appends_bucket', { le: '1' })).toBe(0);
  expect(await read('telemetry_log_commit_appends_bucket', { le: '4' })).toBe(1);
  expect(await read('telemetry_log_append_batch_events_count')).toBe(3);
});

it('passes every other call through to the wrapped log', async () => {
  await log.append('alpha', events(1, 2, 3), 'no_stream');
  await log.append('beta', events(10), 'no_stream');
  expect(log.available).toBe(true);
  expect(await log.identity()).toBe(await inner.identity());
  expect(await log.lastPosition()).toBe(await inner.lastPosition());
  expect((await log.listStreams()).sort()).toEqual(['alpha', 'beta']);
  expect(await log.head('alpha')).toEqual(await inner.head('alpha'));
  expect(Array.from((await log.readStream('alpha', 1n, 10))!.events)).toEqual(Array.from(events(2, 3)));
  expect((await log.readAll(LOG_START, 100)).map((c) => c.stream)).toEqual(['alpha', 'beta']);

  // The rebuild chooses its fast path by the presence of scanStream: kept exactly when the adapter has it.
  expect(log.scanStream !== undefined).toBe(inner.scanStream !== undefined);
  if (log.scanStream !== undefined) {
    let scanned = 0;
    expect(await log.scanStream('alpha', (block) => (scanned += block.length / 3))).toBe(3);
    expect(scanned).toBe(3);
  }

  const delivered: RecordedChunk[] = [];
  const caughtUp = await new Promise<LogPosition>((resolve, reject) => {
    const subscription = log.subscribe(LOG_START, {
      onChunks: (chunks) => delivered.push(...chunks.map((c) => ({ ...c, events: c.events.slice() }))),
      onCaughtUp: (position) => void subscription.close().then(() => resolve(position), reject),
      onError: reject,
    });
  });
  expect(caughtUp).toBe(await inner.lastPosition());
  expect(delivered.reduce((n, c) => n + c.events.length / 3, 0)).toBe(4);
});
