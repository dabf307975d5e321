// A uWebSockets.js endpoint on /upstream with the service's settings (see src/ingest/ingest-server.ts)
// for peers that answer each frame synchronously: `answer(text)` returns the frame's reply. Loads
// uWS the way the service does, refusing the pure-JS fallback.

import type { Logger } from 'pino';
import { CLOSE_GOING_AWAY, INGEST_PATH } from '../../src/ingest/ingest-server.js';
import { loadUws } from '../../src/ingest/load-uws.js';
import { FrameDecoder, FrameRejection } from '../../src/ingest/frame-decoder.js';
import type { ListeningPeer } from './peer-process.js';
import { INGEST_SETTINGS } from './service-settings.js';

type Socket = import('uWebSockets.js').WebSocket<unknown>;

const HOST = '127.0.0.1';

export function serveFramesWithUws(port: number, answer: (text: string) => string, logger: Logger): Promise<ListeningPeer> {
  const uws = loadUws(false, logger);
  const decoder = new FrameDecoder(INGEST_SETTINGS.maxFrameBytes);
  const sockets = new Set<Socket>();
  const app = uws.App();
  app.ws<unknown>(INGEST_PATH, {
    compression: uws.DISABLED,
    maxPayloadLength: INGEST_SETTINGS.hardCapBytes,
    idleTimeout: INGEST_SETTINGS.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: INGEST_SETTINGS.maxBackpressureBytes,
    closeOnBackpressureLimit: 1,
    open: (ws) => void sockets.add(ws),
    // uWS corks inside its handlers, so a reply sent here goes out with the frame's other writes.
    message: (ws, message, isBinary) => {
      const text = decoder.decode(message, isBinary);
      ws.send(text instanceof FrameRejection ? text.status : answer(text), false);
    },
    close: (ws) => void sockets.delete(ws),
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end(`ingest is at ${INGEST_PATH}\n`);
  });
  return new Promise((resolve, reject) => {
    app.listen(HOST, port, (token) => {
      if (token === false) {
        reject(new Error(`cannot listen on ${HOST}:${port}`));
        return;
      }
      const boundPort = uws.us_socket_local_port(token as unknown as import('uWebSockets.js').us_socket);
      resolve({
        port: boundPort,
        // Every frame is answered inside its message handler, so nothing is in flight here.
        close: async () => {
          uws.us_listen_socket_close(token);
          for (const ws of [...sockets]) ws.end(CLOSE_GOING_AWAY, 'server shutting down');
          sockets.clear();
        },
      });
    });
  });
}
