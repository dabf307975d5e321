// The Fastify app without a socket (inject) over a real SQLite log in a temp dir and real
// projections: opened before each test of the file that calls it, closed after.

import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import { buildApp, type AppDeps } from '../../src/api/app.js';
import { Projections } from '../../src/projections/projections.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { makeTempDir } from './temp-dir.js';

export interface AppFixture {
  readonly dataDir: string;
  readonly log: SqliteEventLog;
  readonly projections: Projections;
  /** Appends (x, y, t) triples to `robot`'s stream and applies them to the projections. */
  store(robot: string, events: number[]): Promise<void>;
  /** The app on this fixture's log and projections; `overrides` replace any dependency (the admin status follows `health`). */
  app(overrides?: Partial<AppDeps>): ReturnType<typeof buildApp>;
}

export function useAppFixture(): AppFixture {
  let dir: ReturnType<typeof makeTempDir>;
  let log: SqliteEventLog;
  let projections: Projections;

  beforeEach(() => {
    dir = makeTempDir();
    log = new SqliteEventLog({ dataDir: dir.path, pollIntervalMs: 0 });
    projections = new Projections();
  });

  afterEach(async () => {
    await log.close();
    dir.remove();
  });

  return {
    get dataDir() {
      return dir.path;
    },
    get log() {
      return log;
    },
    get projections() {
      return projections;
    },
    async store(robot, events) {
      const block = new Float64Array(events);
      const head = await log.head(robot);
      const result = await log.append(robot, block, head === null ? 'no_stream' : head.revision);
      const firstRevision = head === null ? 0n : head.revision + 1n;
      projections.apply([{ position: result.position, stream: robot, firstRevision, events: block }]);
    },
    app(overrides = {}) {
      const health = overrides.health ?? (() => ({ status: 'ok' }) as const);
      return buildApp({
        logger: pino({ level: 'silent' }),
        log,
        projections: () => projections,
        admin: {
          status: async () => ({
            version: 1,
            status: health().status === 'starting' ? 'starting' : 'ready',
            position: projections.position,
            logPosition: await log.lastPosition(),
            robots: projections.robotCount,
            events: projections.eventCount,
            checkpoint: null,
            job: null,
          }),
          requestRebuild: () => null,
        },
        ...overrides,
        health,
      });
    },
  };
}
