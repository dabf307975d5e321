// The Fastify app factory without a socket (inject), over the real SQLite log and fixture.projections.

import { beforeEach, expect, it } from 'vitest';
import { useAppFixture } from '../support/app-fixture.js';

const fixture = useAppFixture();
let notReady: string | null;
let degraded = false;

beforeEach(() => {
  notReady = 'projections are catching up with the log';
  degraded = false;
});

function app() {
  return fixture.app({
    health: () =>
      notReady !== null
        ? { status: 'starting', reason: notReady }
        : degraded
          ? { status: 'degraded', reason: 'the event store cannot be reached' }
          : { status: 'ok' },
  });
}

it('answers 503 on /healthz and on reads until ready, then 200, and 503 degraded while the store is down', async () => {
  const server = app();
  const health = await server.inject('/healthz');
  expect(health.statusCode).toBe(503);
  expect(health.json()).toMatchObject({ status: 'starting', code: 'TELEMETRY_NOT_READY', statusCode: 503 });
  expect((await server.inject('/api/robots')).statusCode).toBe(503);

  notReady = null;
  expect((await server.inject('/healthz')).json()).toEqual({ status: 'ok' });
  expect((await server.inject('/api/robots')).json()).toEqual([]);

  degraded = true;
  const unhealthy = await server.inject('/healthz');
  expect(unhealthy.statusCode).toBe(503);
  expect(unhealthy.json()).toMatchObject({ status: 'degraded', code: 'TELEMETRY_STORE_UNAVAILABLE' });
  expect((await server.inject('/api/robots')).statusCode).toBe(200); // projections still answer from memory
  await server.close();
});

it('serves what the log committed, through the projections', async () => {
  const result = await fixture.log.append('Bender', new Float64Array([0, 0, 0, 3, 4, 10]), 'no_stream');
  fixture.projections.apply([{ position: result.position, stream: 'Bender', firstRevision: 0n, events: new Float64Array([0, 0, 0, 3, 4, 10]) }]);
  notReady = null;
  const server = app();
  expect((await server.inject('/api/robots/Bender')).json()).toEqual({
    name: 'Bender',
    odometer: 5,
    first_timestamp: 0,
    last_timestamp: 10,
    last_x: 3,
    last_y: 4,
    event_count: 2,
  });
  expect((await server.inject('/api/robots/Bender/events?start_time=5')).json()).toEqual([{ robot: 'Bender', x: 3, y: 4, timestamp: 10 }]);
  const notFound = await server.inject('/api/robots/Bender/nothing-here');
  expect(notFound.statusCode).toBe(404);
  expect(notFound.headers['content-type']).toMatch(/application\/json/);
  await server.close();
});
