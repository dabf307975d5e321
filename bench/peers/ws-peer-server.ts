// The PEER for the ingest benchmark: the service's own write path — the frame handler with its
// limits, Router → RobotActor → SqliteEventLog (group commit) measured by the service's metrics,
// with a LogFollower keeping Projections in step so the read side costs what it costs in the
// service — behind the `ws` library instead of uWebSockets.js. Everything but the WebSocket
// library comes from src/.
//
//   node --import tsx bench/peers/ws-peer-server.ts --port 0 --data-dir DIR

import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { Router } from '../../src/actors/router.js';
import { DEFAULT_ACTOR_SETTINGS } from '../../src/actors/actor-settings.js';
import { FrameHandler } from '../../src/ingest/frame-handler.js';
import { ConnectionReplies } from '../../src/ingest/frame-reply.js';
import { CLOSE_GOING_AWAY, INGEST_PATH } from '../../src/ingest/ingest-server.js';
import { TokenBucket } from '../../src/domain/token-bucket.js';
import { ServiceMetrics } from '../../src/metrics/service-metrics.js';
import { LogFollower } from '../../src/projections/log-follower.js';
import { Projections } from '../../src/projections/projections.js';
import { openSqliteLog } from '../../src/store/sqlite/open.js';
import { requireDataDir, runPeer } from './peer-process.js';
import { INGEST_SETTINGS, peerLogger } from './service-settings.js';

const HOST = '127.0.0.1';
/** A client that does not finish the closing handshake within this is cut off. */
const CLOSE_HANDSHAKE_MS = 5000;

runPeer('ws-peer', async (options) => {
  const logger = peerLogger('ws-peer');
  const metrics = new ServiceMetrics();
  const log = metrics.meterLog(openSqliteLog({ kind: 'sqlite', dataDir: requireDataDir('ws-peer', options) }));
  const follower = new LogFollower(log, new Projections(), logger);
  const router = new Router(log, { ...DEFAULT_ACTOR_SETTINGS, maxMailbox: INGEST_SETTINGS.maxMailboxEvents }, logger);
  // The service's own frame handling: only the WebSocket library differs.
  const frames = new FrameHandler(router, INGEST_SETTINGS.maxFrameBytes, INGEST_SETTINGS.maxEventsPerFrame);
  const { maxEventsPerSecond, rateBurstEvents } = INGEST_SETTINGS;
  const sockets = new Map<WebSocket, ConnectionReplies>();

  const http = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`ingest is at ${INGEST_PATH}\n`);
  });
  const wss = new WebSocketServer({ server: http, path: INGEST_PATH, perMessageDeflate: false, maxPayload: INGEST_SETTINGS.hardCapBytes });
  wss.on('connection', (ws) => {
    const replies = new ConnectionReplies(
      {
        send: (reply) => {
          ws.send(reply);
          // uWS's closeOnBackpressureLimit: a client that never reads its replies is closed.
          if (ws.bufferedAmount > INGEST_SETTINGS.maxBackpressureBytes) ws.terminate();
        },
      },
      metrics.outcomes,
    );
    const rate = maxEventsPerSecond > 0 ? new TokenBucket(maxEventsPerSecond, rateBurstEvents, performance.now()) : null;
    sockets.set(ws, replies);
    ws.on('message', (data, isBinary) => frames.handle(replies, data as Buffer, isBinary, null, rate));
    ws.on('error', (error) => logger.warn({ err: error }, 'connection error'));
    ws.on('close', () => {
      replies.close();
      sockets.delete(ws);
    });
  });

  try {
    await follower.start();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port, HOST, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await follower.stop();
    await log.close();
    throw error;
  }
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  return {
    port,
    // As IngestServer.close: stop accepting, answer every frame already received, close sockets (1001).
    close: async () => {
      frames.draining = true;
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      await router.whenIdle();
      await Promise.all([...sockets.keys()].map(closeSocket));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await httpClosed;
      await follower.stop();
      await log.close();
    },
  };
});

function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_MS);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(CLOSE_GOING_AWAY, 'server shutting down');
  });
}
