// The ingest load generator runs and its numbers add up (how fast is for bench/, never for tests).

import { afterEach, beforeEach, expect, it } from 'vitest';
import { runIngestLoad } from '../../bench/ingest-load.js';
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

it('drives the real service and counts every acknowledged event', async () => {
  const result = await runIngestLoad({ port: service.ingestPort, connections: 3, robots: 10, frame: 7, inflight: 2, seconds: 0.3, runId: 't' });
  expect(result.events).toBeGreaterThan(0);
  expect(result.outcomes).toEqual({ OK: result.events });
  const robots = (await getJson(`${service.http}/api/robots`)).body as Array<{ event_count: number }>;
  expect(robots).toHaveLength(10);
  expect(robots.reduce((n, r) => n + r.event_count, 0)).toBe(result.events);
});
