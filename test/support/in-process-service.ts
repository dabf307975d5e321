// The real service in this process, on port 0 and a temporary data dir.

import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/main.js';

export interface TestService extends RunningService {
  readonly http: string;
}

/** Starts the service with `env` (a store fixture's, plus overrides) on free ports, and waits until ready. */
export async function startTestService(env: Record<string, string>): Promise<TestService> {
  const config = loadConfig({
    TELEMETRY_INGEST_PORT: '0',
    TELEMETRY_HTTP_PORT: '0',
    TELEMETRY_REBUILD_THREADS: '2',
    ...env,
  });
  const service = await startService(config, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  await service.ready;
  return { ...service, http: `http://127.0.0.1:${service.httpPort}` };
}

export async function getJson(url: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json(), headers: response.headers };
}
