// The Fastify app factory without a socket (inject), over the real SQLite log and projections.

import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { Projections } from '../../src/projections/projections.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { makeTempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof makeTempDir>;
let log: SqliteEventLog;
let projections: Projections;
let notReady: string | null;
let degraded = false;

beforeEach(() => {
  dir = makeTempDir();
  log = new SqliteEventLog({ dataDir: dir.path, pollIntervalMs: 0 });
  projections = new Projections();
  notReady = 'projections are catching up with the log';
  degraded = false;
});

afterEach(async () => {
  await log.close();
  dir.remove();
});

function app() {
  return buildApp({
    logger: pino({ level: 'silent' }),
    log,
    projections: () => projections,
    admin: {
      status: async () => ({
        version: 1,
        status: notReady === null ? 'ready' : 'starting',
        position: projections.position,
        logPosition: await log.lastPosition(),
        robots: projections.robotCount,
        events: projections.eventCount,
        checkpoint: null,
        job: null,
      }),
      requestRebuild: () => null,
    },
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
  const result = await log.append('Bender', new Float64Array([0, 0, 0, 3, 4, 10]), 'no_stream');
  projections.apply([{ position: result.position, stream: 'Bender', firstRevision: 0n, events: new Float64Array([0, 0, 0, 3, 4, 10]) }]);
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
