// Wiring only: build the parts, start them in order, stop them in reverse.
// socket → router → actor → log → projection → REST.

import { accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_ACTOR_SETTINGS } from './actors/actor-settings.js';
import { Router } from './actors/router.js';
import { buildApp, type Health } from './api/app.js';
import { LiveHub } from './api/live/live-hub.js';
import { startAuth } from './auth/start-auth.js';
import type { Config } from './config.js';
import { IngestServer } from './ingest/ingest-server.js';
import { isNativeUws, loadUws } from './ingest/load-uws.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { ProjectionService } from './projections/projection-service.js';
import type { EventLog } from './store/event-log.js';
import { openLog, type LogSpec } from './store/log-spec.js';

export interface RunningService {
  readonly ingestPort: number;
  readonly httpPort: number;
  /** Resolves once projections have caught up with the log: /healthz answers 200 from then on. */
  readonly ready: Promise<void>;
  readonly router: Router;
  /**
   * Resolves once projections reflect everything the log has committed so far. With the embedded
   * log a commit is applied before its writers are answered; with EventStoreDB it arrives through
   * the subscription, a moment after the acknowledgement.
   */
  whenProjected(): Promise<void>;
  close(): Promise<void>;
}

export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const uws = loadUws(config.allowUwsFallback, logger);
  const auth = startAuth(config, isNativeUws(uws), logger);
  const spec = logSpecOf(config);
  const metrics = new ServiceMetrics();
  // Appends measured at the port, whichever adapter is behind it.
  const log = metrics.meterLog(await openLogSaying(spec, logger));
  const router = new Router(log, { ...DEFAULT_ACTOR_SETTINGS, maxMailbox: config.maxMailboxEvents }, logger);
  const readSide = new ProjectionService(
    log,
    spec,
    {
      dataDir: config.dataDir,
      rebuildThreads: config.rebuildThreads,
      forceRebuild: config.rebuildProjections,
      checkpointEveryEvents: config.checkpointEveryEvents,
      checkpointEverySeconds: config.checkpointEverySeconds,
    },
    logger,
  );
  // The fleet page's live feed: told which robots moved as commits reach the projections.
  const live = new LiveHub(() => readSide.current());
  readSide.onRobotChanged(live.robotChanged);
  let ingest: IngestServer | undefined;
  let app: FastifyInstance | undefined;
  // Read at scrape time, never polled. SQLite positions count rows; EventStoreDB's are byte offsets.
  metrics.watchIngest(() => ingest);
  metrics.watchActors(router);
  metrics.watchProjections(readSide, log, { positionsComparable: spec.kind === 'sqlite' });

  const stop = async (): Promise<void> => {
    auth?.close();
    await ingest?.close();
    await app?.close();
    await readSide.stop();
    await log.close();
  };

  try {
    auth?.follow();
    ingest = new IngestServer(uws, router, {
      host: config.host,
      port: config.ingestPort,
      maxFrameBytes: config.maxFrameBytes,
      idleTimeoutSeconds: config.idleTimeoutSeconds,
      maxBackpressureBytes: config.maxBackpressureBytes,
      maxEventsPerFrame: config.maxEventsPerFrame,
      maxConnections: config.maxConnections,
      maxConnectionsPerToken: config.maxConnectionsPerToken,
      maxEventsPerSecond: config.maxEventsPerSecond,
      rateBurstEvents: config.rateBurstEvents,
    }, logger, auth, metrics.outcomes);
    const ingestPort = await ingest.listen();

    app = buildApp({
      logger,
      log,
      projections: () => readSide.current(),
      admin: readSide,
      auth,
      live,
      metrics,
      health: (): Health => {
        if (!readSide.isCaughtUp) return { status: 'starting', reason: 'projections are catching up with the log' };
        if (!log.available) return { status: 'degraded', reason: 'the event store cannot be reached or its last commit failed (e.g. disk full): see the log' };
        return { status: 'ok' };
      },
    });
    await app.listen({ host: config.host, port: config.httpPort });
    const address = app.server.address();
    const httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;
    logger.info({ host: config.host, ingestPort, httpPort, store: spec.kind }, 'telemetry service listening');

    const ready = (async () => {
      await readSide.start();
      const projections = readSide.current();
      logger.info({ robots: projections.robotCount, events: projections.eventCount }, 'telemetry service ready');
    })();
    ready.catch((error: unknown) => logger.fatal({ err: error }, 'projections could not be built'));

    const whenProjected = async (): Promise<void> => {
      await ready;
      await readSide.whenProjected();
    };
    return { ingestPort, httpPort, ready, router, whenProjected, close: stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * SQLite's own words ("unable to open database file", "database or disk is full") name neither the
 * place nor the cause: the start-up failure says which directory, and whether it is writable.
 */
async function openLogSaying(spec: LogSpec, logger: Logger): Promise<EventLog> {
  try {
    return await openLog(spec, {
      onBackgroundError: (error) => logger.warn({ err: error }, 'the event log\'s background work failed; it tries again'),
    });
  } catch (error) {
    if (spec.kind !== 'sqlite' || !(error instanceof Error)) throw error;
    let writable = '';
    try {
      accessSync(spec.dataDir, constants.W_OK);
    } catch (denied) {
      writable = `; the data dir is not writable (${(denied as NodeJS.ErrnoException).code ?? String(denied)})`;
    }
    error.message = `cannot open the event log in ${spec.dataDir}: ${error.message}${writable}`;
    throw error;
  }
}

function logSpecOf(config: Config): LogSpec {
  if (config.store === 'eventstoredb') {
    return { kind: 'eventstoredb', connectionString: config.eventstoreConnectionString!, deadlineMs: config.storeDeadlineMs };
  }
  return { kind: 'sqlite', dataDir: config.dataDir };
}

export type { EventLog };
