// The benchmark load generator against a service with authentication on: it passes a fleet token
// (header, or `?token=` in the path) so events/s can be measured with authentication, and a run
// without one fails at the handshake with the server's 401 rather than measuring nothing.

import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runWsLoad } from '../../bench/lib/ws-load/index.js';
import { writeTokens } from '../support/auth-tokens.js';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { makeTempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof makeTempDir>;
let service: TestService;
let fleet: string;
let reader: string;

beforeEach(async () => {
  dir = makeTempDir();
  const file = join(dir.path, 'tokens.json');
  [fleet, reader] = writeTokens(file, [{ type: 'fleet' }, { type: 'read' }]).map((t) => t.token) as [string, string];
  service = await startTestService({ TELEMETRY_DATA_DIR: dir.path, TELEMETRY_TOKENS_FILE: file });
});

afterEach(async () => {
  await service.close();
  dir.remove();
});

const load = { connections: 2, robots: 4, eventsPerFrame: 5, seconds: 0.5 } as const;

it('writes with a token in the Authorization header or in ?token=, every event answered OK', async () => {
  const header = await runWsLoad({ port: service.ingestPort, ...load, token: fleet, runId: 'hdr' });
  const query = await runWsLoad({ port: service.ingestPort, ...load, path: `/upstream?token=${fleet}`, runId: 'qry' });
  for (const report of [header, query]) {
    expect(report.errors).toEqual([]);
    expect(report.events).toBeGreaterThan(0);
    expect(report.outcomes).toEqual({ OK: report.events });
  }
  const robots = await fetch(`${service.http}/api/robots`, { headers: { authorization: `Bearer ${reader}` } });
  const stored = ((await robots.json()) as Array<{ event_count: number }>).reduce((n, r) => n + r.event_count, 0);
  expect(stored).toBe(header.events + query.events);
});

it('fails at the handshake without a token, naming the 401', async () => {
  await expect(runWsLoad({ port: service.ingestPort, ...load, runId: 'none' })).rejects.toThrow(/401 Unauthorized/);
});
