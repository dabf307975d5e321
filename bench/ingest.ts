// Ingest benchmark: durable ingest through the real service, beside — on the same load, in the same
// run — the parse-and-discard limit (uWebSockets.js, no store), the `ws` peer (the same service
// path with ingest through the ws library) and the original's design (one durable commit per
// event). Load comes from the raw-TCP generator (pre-encoded masked frames), never `ws`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWsLoad, type WsLoadReport } from './lib/ws-load/index.js';
import { startServiceProcess } from './lib/service-process.js';
import { startPeer, type PeerName } from './peers/start-peer.js';

export interface IngestBenchOptions {
  readonly seconds: number;
  /** Load before each measured window, not counted: 1,000 robots joining at once is a burst, not the steady state. */
  readonly warmupSeconds: number;
  readonly robots: number;
  readonly connections: number;
  readonly threads: number;
  readonly log: (line: string) => void;
}

export interface LatencyPoint {
  readonly load: number;
  readonly offered_events_per_s: number;
  readonly events_per_s: number;
  readonly ack_p50_ms: number;
  readonly ack_p75_ms: number;
  readonly ack_p99_ms: number;
}

export interface BatchResult {
  readonly events_per_s: number;
  /** At half the maximum rate, as the goals are stated. */
  readonly ack_p50_ms: number;
  readonly ack_p99_ms: number;
  readonly latency: LatencyPoint[];
}

export interface IngestBenchResult {
  readonly batch1: BatchResult;
  readonly batch100: BatchResult;
  readonly limit_events_per_s: number;
  readonly ratio_to_limit: number;
  readonly peer_ws_events_per_s: number;
  readonly ratio_to_peer_ws: number;
  /** The ws peer with one-event frames, where the WebSocket library's cost per frame shows. */
  readonly peer_ws_batch1_events_per_s: number;
  readonly ratio_to_peer_ws_batch1: number;
  readonly seed_style_events_per_s: number;
  readonly ratio_to_seed_style: number;
}

type Target = { readonly port: number; stop(): Promise<void> };

/**
 * What the benchmark measures is the write path, so the per-connection rate limit (a protection
 * against one client, default 200,000 events/s) is off for the service and the ws peer alike: with
 * few connections a fast machine passes it, and the run would measure the limit instead.
 */
const BENCH_SETTINGS = { TELEMETRY_MAX_EVENTS_PER_SECOND: '0' } as const;

async function withTarget<T>(name: 'service' | PeerName, run: (port: number) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), `telemetry-bench-${name}-`));
  let target: Target | undefined;
  try {
    if (name === 'service') {
      const service = await startServiceProcess({ ...BENCH_SETTINGS, TELEMETRY_DATA_DIR: dataDir });
      target = { port: service.ingestPort, stop: () => service.stop() };
    } else {
      target = await startPeer(name, { dataDir, env: BENCH_SETTINGS });
    }
    await prime(name, target.port);
    return await run(target.port);
  } finally {
    await target?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * One frame answered before anything is measured: a fresh target starts its threads (the log's writer
 * and checkpointer) on its first commit, and on a busy machine that can take longer than a short
 * warm-up, leaving a measured window with nothing answered in it.
 */
async function prime(name: string, port: number): Promise<void> {
  const report = await runWsLoad({ port, connections: 1, robots: 1, eventsPerFrame: 1, seconds: 0.05, threads: 1, inflight: 1, runId: 'prime' });
  checkAllAcknowledged(`${name} (priming)`, report);
}

function checkAllAcknowledged(label: string, report: WsLoadReport): void {
  const ok = (report.outcomes.OK ?? 0) + (report.outcomes.DUP ?? 0);
  if (ok !== report.events || report.framesAnswered !== report.framesSent) {
    throw new Error(`${label}: not every event was acknowledged: ${JSON.stringify(report.outcomes)}, ${report.framesAnswered}/${report.framesSent} frames`);
  }
}

export async function runIngestBench(options: IngestBenchOptions): Promise<IngestBenchResult> {
  const { seconds, warmupSeconds, robots, connections, threads, log } = options;
  const closedLoop = async (label: string, port: number, eventsPerFrame: number) => {
    log(`${label}: ${eventsPerFrame}-event frames, closed loop, ${seconds} s after ${warmupSeconds} s of warm-up…`);
    // Enough frames in flight per connection to keep group commits full: the maximum rate.
    const report = await runWsLoad({ port, connections, robots, eventsPerFrame, seconds, warmupSeconds, threads, inflight: 32 });
    checkAllAcknowledged(label, report);
    log(`  ${report.eventsPerSecond} events/s`);
    return report;
  };

  const batch = async (eventsPerFrame: number): Promise<BatchResult> =>
    withTarget('service', async (port) => {
      const max = await closedLoop('service', port, eventsPerFrame);
      if (max.eventsPerSecond === 0) throw new Error(`service: no ${eventsPerFrame}-event frame was answered within the ${seconds} s window: too short for this machine now`);
      const latency: LatencyPoint[] = [];
      for (const load of [0.25, 0.5, 0.75]) {
        const rate = Math.round(max.eventsPerSecond * load);
        log(`service: ${eventsPerFrame}-event frames at ${Math.round(load * 100)} % of max (${rate} events/s)…`);
        const report = await runWsLoad({ port, connections, robots, eventsPerFrame, seconds, warmupSeconds, threads, rate });
        checkAllAcknowledged('service (open loop)', report);
        latency.push({
          load,
          offered_events_per_s: rate,
          events_per_s: report.eventsPerSecond,
          ack_p50_ms: report.latencyMs.p50,
          ack_p75_ms: report.latencyMs.p75,
          ack_p99_ms: report.latencyMs.p99,
        });
        log(`  p50 ${report.latencyMs.p50} ms, p99 ${report.latencyMs.p99} ms`);
      }
      const half = latency[1]!;
      return { events_per_s: max.eventsPerSecond, ack_p50_ms: half.ack_p50_ms, ack_p99_ms: half.ack_p99_ms, latency };
    });

  const batch100 = await batch(100);
  const batch1 = await batch(1);
  const peer = async (name: PeerName, eventsPerFrame = 100) =>
    withTarget(name, async (port) => (await closedLoop(name, port, eventsPerFrame)).eventsPerSecond);
  const limit = await peer('limit');
  const ws = await peer('ws-peer');
  const wsBatch1 = await peer('ws-peer', 1);
  const seedStyle = await peer('seed-style');
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  return {
    batch1,
    batch100,
    limit_events_per_s: limit,
    ratio_to_limit: ratio(batch100.events_per_s, limit),
    peer_ws_events_per_s: ws,
    ratio_to_peer_ws: ratio(batch100.events_per_s, ws),
    peer_ws_batch1_events_per_s: wsBatch1,
    ratio_to_peer_ws_batch1: ratio(batch1.events_per_s, wsBatch1),
    seed_style_events_per_s: seedStyle,
    ratio_to_seed_style: ratio(batch100.events_per_s, seedStyle),
  };
}
