// The raw-socket load generator (bench/lib/ws-load) against the real service in this process: its
// counts agree with what the service stored, open loop offers what it was asked to, threads add up.
// (How fast is for bench/, never for tests.)

import { afterEach, beforeEach, expect, it } from 'vitest';
import { runWsLoad } from '../../bench/lib/ws-load/index.js';
import { getJson, startTestService, type TestService } from '../support/in-process-service.js';
import { makeTempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof makeTempDir>;
let service: TestService;

beforeEach(async () => {
  dir = makeTempDir();
  service = await startTestService({ TELEMETRY_DATA_DIR: dir.path });
});

afterEach(async () => {
  await service.close();
  dir.remove();
});

async function storedEvents(runId: string): Promise<{ robots: number; events: number }> {
  await service.whenProjected();
  const robots = ((await getJson(`${service.http}/api/robots`)).body as Array<{ name: string; event_count: number }>).filter((r) =>
    r.name.startsWith(`bench-${runId}-`),
  );
  return { robots: robots.length, events: robots.reduce((n, r) => n + r.event_count, 0) };
}

it('closed loop: every status OK, and the service stored exactly the OKs', async () => {
  const report = await runWsLoad({ port: service.ingestPort, connections: 2, robots: 20, eventsPerFrame: 5, seconds: 0.5, runId: 'closed' });
  expect(report.events).toBeGreaterThan(0);
  expect(report.outcomes).toEqual({ OK: report.events });
  expect(report.framesAnswered).toBe(report.framesSent);
  expect(report.events).toBe(report.framesAnswered * 5);
  expect(report.errors).toEqual([]);
  expect(report.latencyMs.p50).toBeGreaterThan(0);
  expect(report.latencyMs.max).toBeGreaterThanOrEqual(report.latencyMs.p99);
  expect(await storedEvents('closed')).toEqual({ robots: 20, events: report.outcomes.OK });
});

it('open loop: offers about rate × seconds events and every frame is answered', async () => {
  const report = await runWsLoad({ port: service.ingestPort, connections: 2, robots: 20, eventsPerFrame: 5, seconds: 0.5, rate: 2000, threads: 1, runId: 'open' });
  expect(report.framesAnswered).toBe(report.framesSent);
  expect(report.events).toBeGreaterThanOrEqual(2000 * 0.5 * 0.7);
  expect(report.events).toBeLessThanOrEqual(2000 * 0.5 * 1.3);
  expect(report.outcomes).toEqual({ OK: report.events });
  expect(await storedEvents('open')).toEqual({ robots: 20, events: report.events });
});

it('warm-up: the same load runs first, but only the measured window counts in the rate', async () => {
  const report = await runWsLoad({ port: service.ingestPort, connections: 2, robots: 20, eventsPerFrame: 5, seconds: 0.5, warmupSeconds: 0.5, rate: 2000, threads: 1, runId: 'warm' });
  expect(report.framesAnswered).toBe(report.framesSent);
  // Every event of both phases was sent, answered and stored…
  expect(report.events).toBeGreaterThanOrEqual(2000 * 1 * 0.7);
  expect(await storedEvents('warm')).toEqual({ robots: 20, events: report.events });
  // …while the rate is that of the measured half second only.
  expect(report.eventsPerSecond).toBeGreaterThanOrEqual(2000 * 0.7);
  expect(report.eventsPerSecond).toBeLessThanOrEqual(2000 * 1.3);
});

it('two threads: connections spread over both, counts and histograms merged', async () => {
  const report = await runWsLoad({ port: service.ingestPort, connections: 4, robots: 40, eventsPerFrame: 3, seconds: 0.5, threads: 2, inflight: 2, runId: 'threads' });
  expect(report.threads).toBe(2);
  expect(report.connections).toBe(4);
  expect(report.events).toBeGreaterThan(0);
  expect(report.outcomes).toEqual({ OK: report.events });
  expect(report.framesAnswered).toBe(report.framesSent);
  expect(await storedEvents('threads')).toEqual({ robots: 40, events: report.events });
});

it('a run id used twice resends the same events: DUP for what is stored, never a second copy', async () => {
  const spec = { port: service.ingestPort, connections: 1, robots: 5, eventsPerFrame: 5, seconds: 0.2, inflight: 1, runId: 'again' };
  const first = await runWsLoad(spec);
  const second = await runWsLoad(spec);
  expect(first.outcomes).toEqual({ OK: first.events });
  // Frames are the same on every run with one id: the first run's are acknowledged DUP, later ones are new.
  expect(second.outcomes.DUP).toBe(Math.min(first.events, second.events));
  expect(second.events).toBe((second.outcomes.DUP ?? 0) + (second.outcomes.OK ?? 0));
  expect((await storedEvents('again')).events).toBe(first.events + (second.outcomes.OK ?? 0));
});

it('refuses a host that is not loopback', async () => {
  await expect(runWsLoad({ port: service.ingestPort, host: '10.0.0.1', connections: 1, robots: 1, eventsPerFrame: 1, seconds: 0.1 })).rejects.toThrow(/loopback/);
});
