// The benchmark scripts run end to end at tiny sizes and report what they promise. How fast is for
// `npm run bench`, never for tests.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { runIngestBench } from '../../bench/ingest.js';
import { measureGrowth } from '../../bench/projection-growth.js';
import { rankCpuProfile, rankHeapProfile } from '../../bench/profiling/summarize.js';
import { runProjectionBench } from '../../bench/projections.js';
import { runReadBench } from '../../bench/reads.js';

const quiet = () => undefined;
const run = promisify(execFile);

it('runs the REST read benchmark and compares with the ceiling', async () => {
  const result = await runReadBench({ events: 2000, seconds: 0.5, connections: 4, log: quiet });
  for (const measured of [result.odometer.large, result.odometer.small, result.events.large, result.events.small, result.ceiling]) {
    expect(measured.req_per_s).toBeGreaterThan(0);
    expect(measured.p99_ms).toBeGreaterThanOrEqual(0);
  }
  expect(result.ratio_to_ceiling).toBeCloseTo(result.odometer.large.req_per_s / result.ceiling.req_per_s, 2);
});

it('runs the projection benchmark: rebuilds, restart, memory, queries', async () => {
  const result = await runProjectionBench({ robots: 10, events: 50, chunk: 1, queryEvents: 1000, log: quiet });
  expect(result.events).toBe(500);
  expect(result.rebuild.workers1.events_per_s).toBeGreaterThan(0);
  expect(result.rebuild.workers2.events_per_s).toBeGreaterThan(0);
  expect(result.restart.ready_ms).toBeGreaterThan(0);
  expect(result.memory.bytes_per_event).toBe(16);
  expect(result.query.odometer_ns_large).toBeGreaterThan(0);
});

it('samples the allocations of a process, collected objects included, and ranks them and a CPU profile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'telemetry-profiling-'));
  try {
    const heap = join(dir, 'alloc.heapprofile');
    // Short-lived objects made on a timer, so the young generation collects them in the window.
    const script = 'const t = setInterval(() => { let keep = []; for (let i = 0; i < 5000; i++) keep.push({ i }); }, 2); setTimeout(() => clearInterval(t), 700);';
    await run(process.execPath, ['--import', 'tsx', '--import', './bench/profiling/alloc-sampling.ts', '--cpu-prof', '--cpu-prof-dir', dir, '-e', script], {
      env: { ...process.env, ALLOC_PROFILE_OUT: heap, ALLOC_PROFILE_MS: '300' },
    });
    const allocated = rankHeapProfile(JSON.parse(readFileSync(heap, 'utf8')));
    // 5,000 objects every 2 ms for 300 ms: far more than anything alive at the end.
    expect(allocated.total).toBeGreaterThan(1_000_000);
    expect(allocated.rows[0]!.share).toBeGreaterThan(0);
    const cpuFile = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))!;
    const cpu = rankCpuProfile(JSON.parse(readFileSync(join(dir, cpuFile), 'utf8')));
    expect(cpu.total).toBeGreaterThan(0);
    expect(cpu.rows.reduce((sum, row) => sum + row.share, 0)).toBeLessThanOrEqual(1.0001);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('runs the projection growth benchmark with one factor and with spread factors', () => {
  for (const factor of [1.5, undefined]) {
    const result = measureGrowth(20, 2, 50, factor);
    expect(result.round_max_ms).toBeGreaterThanOrEqual(result.round_p99_ms);
    expect(result.round_p99_ms).toBeGreaterThanOrEqual(result.round_p50_ms);
    expect(result.growth).toMatch(factor === undefined ? /by robot name/ : /one factor/);
  }
});

it('runs the ingest benchmark against the service and its three peers', async () => {
  const result = await runIngestBench({ seconds: 0.5, warmupSeconds: 0.25, robots: 20, connections: 2, threads: 1, log: quiet });
  for (const batch of [result.batch1, result.batch100]) {
    expect(batch.events_per_s).toBeGreaterThan(0);
    expect(batch.latency.map((point) => point.load)).toEqual([0.25, 0.5, 0.75]);
    expect(batch.ack_p99_ms).toBeGreaterThanOrEqual(batch.ack_p50_ms);
  }
  expect(result.limit_events_per_s).toBeGreaterThan(0);
  expect(result.peer_ws_events_per_s).toBeGreaterThan(0);
  expect(result.peer_ws_batch1_events_per_s).toBeGreaterThan(0);
  expect(result.ratio_to_peer_ws_batch1).toBe(Math.round((result.batch1.events_per_s / result.peer_ws_batch1_events_per_s) * 100) / 100);
  // One commit per event answers a 100-event frame in 100 fsyncs: in a half-second window on a busy
  // machine it may not finish one. runIngestBench has already checked that every frame was answered.
  expect(Number.isFinite(result.seed_style_events_per_s)).toBe(true);
  expect(result.ratio_to_limit).toBeCloseTo(result.batch100.events_per_s / result.limit_events_per_s, 2);
});

it('runs the log layout benchmark: the log beside the layouts it replaced', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/log-layouts.ts', '--robots', '5', '--per-commit', '5', '--seconds', '0.2']);
  const report = JSON.parse(stdout);
  expect(report.results.map((r: { layout: string }) => r.layout)).toEqual(['log (format 5)', 'rows per commit (format 3)', 'per-stream key (format 1)']);
  for (const r of report.results) {
    expect(r.events_per_s).toBeGreaterThan(0);
    expect(r.commit_p99_ms).toBeGreaterThanOrEqual(r.commit_p50_ms);
  }
});
