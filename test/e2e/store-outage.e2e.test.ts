// EventStoreDB going away and coming back: frames are answered `ERR unavailable` within the
// deadline instead of hanging, /healthz says degraded, and the service recovers by itself.

import { afterEach, beforeEach, expect, it } from 'vitest';
import { startEsdbDouble, type EsdbDouble } from '../support/esdb-double/index.js';
import { eventually } from '../support/eventually.js';
import { IngestClient } from '../support/ingest-client.js';
import { getJson, startTestService, type TestService } from '../support/in-process-service.js';
import { makeTempDir } from '../support/temp-dir.js';

const DEADLINE_MS = 1000;

let dir: ReturnType<typeof makeTempDir>;
let double: EsdbDouble;
let service: TestService;
let client: IngestClient;

beforeEach(async () => {
  dir = makeTempDir();
  double = await startEsdbDouble();
  service = await startTestService({
    TELEMETRY_DATA_DIR: dir.path,
    TELEMETRY_STORE: 'eventstoredb',
    EVENTSTORE_CONNECTION_STRING: double.connectionString,
    TELEMETRY_STORE_DEADLINE_MS: String(DEADLINE_MS),
  });
  client = await IngestClient.connect(service.ingestPort);
});

afterEach(async () => {
  await client.close();
  await service.close();
  await double.close();
  dir.remove();
});

it('answers ERR unavailable within the deadline, reports degraded health, and recovers by itself', async () => {
  expect(await client.send('1,1,1,Outage')).toBe('OK');
  expect((await getJson(`${service.http}/healthz`)).status).toBe(200);

  await double.stop();
  const started = performance.now();
  expect(await client.sendEvents(['2,2,2,Outage', '3,3,3,Other'])).toEqual(['ERR unavailable', 'ERR unavailable']);
  expect(performance.now() - started).toBeLessThan(DEADLINE_MS * 3);
  const health = await getJson(`${service.http}/healthz`);
  expect(health.status).toBe(503);
  expect(health.body).toMatchObject({ status: 'degraded', code: 'TELEMETRY_STORE_UNAVAILABLE' });

  await double.restart();
  await eventually(async () => (await getJson(`${service.http}/healthz`)).status === 200, 15_000, 'health to recover');
  expect(await client.send('2,2,2,Outage')).toBe('OK');
  expect(await client.send('2,2,2,Outage')).toBe('DUP');

  // The read side resubscribed too: what was written after the outage is served.
  await service.whenProjected();
  const events = (await getJson(`${service.http}/api/robots/Outage/events`)).body as Array<{ timestamp: number }>;
  expect(events.map((e) => e.timestamp)).toEqual([1, 2]);
  expect(double.streamEvents('robot-Outage')).toHaveLength(2);
});
