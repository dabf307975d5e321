// The uWebSockets.js ingest endpoint: ws://HOST:PORT/upstream. Connections, back-pressure and
// shutdown live here; what a frame means is FrameHandler's.

import type { Logger } from 'pino';
import type { Router } from '../actors/router.js';
import { FrameHandler } from './frame-handler.js';
import { ConnectionReplies } from './frame-reply.js';
import type { Uws } from './load-uws.js';

export const INGEST_PATH = '/upstream';

export interface IngestSettings {
  readonly host: string;
  readonly port: number;
  readonly maxFrameBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxBackpressureBytes: number;
}

// Per-connection state lives in a map, not in uWS user data: the pure-JS fallback (when allowed)
// does not implement getUserData().
type Socket = import('uWebSockets.js').WebSocket<unknown>;

export const CLOSE_GOING_AWAY = 1001;
// uWebSockets.js drops a connection (no close frame) on a frame above maxPayloadLength. Admitting
// frames up to this many times the limit lets an oversized frame be answered with a reason instead,
// while keeping what one message can buffer bounded.
export const HARD_CAP_FACTOR = 4;
/** Replies buffered for a client that does not read them, before it is closed. */
export const MAX_BACKPRESSURE_BYTES = 16 * 1024 * 1024;

export class IngestServer {
  private listenSocket: import('uWebSockets.js').us_listen_socket | undefined;
  private readonly sockets = new Map<Socket, ConnectionReplies>();
  private readonly frames: FrameHandler;

  constructor(
    private readonly uws: Uws,
    private readonly router: Router,
    private readonly settings: IngestSettings,
    private readonly logger: Logger,
  ) {
    this.frames = new FrameHandler(router, settings.maxFrameBytes);
  }

  listen(): Promise<number> {
    const { uws, settings } = this;
    const app = uws.App();
    app.ws<unknown>(INGEST_PATH, {
      compression: uws.DISABLED,
      maxPayloadLength: settings.maxFrameBytes * HARD_CAP_FACTOR,
      idleTimeout: settings.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      maxBackpressure: settings.maxBackpressureBytes,
      closeOnBackpressureLimit: 1, // a client that never reads its replies is closed, not buffered for
      // No custom upgrade handler: the default one hands us an empty user-data object, and the
      // pure-JS fallback (when explicitly allowed) implements only the default.
      open: (ws) => {
        this.sockets.set(ws, new ConnectionReplies({ send: (reply) => ws.cork(() => ws.send(reply, false)) }));
      },
      message: (ws, message, isBinary) => this.frames.handle(this.sockets.get(ws)!, message, isBinary),
      close: (ws) => {
        this.sockets.get(ws)?.close();
        this.sockets.delete(ws);
      },
    });
    app.any('/*', (res) => {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'text/plain').end(`ingest is at ${INGEST_PATH}\n`);
    });
    return new Promise((resolve, reject) => {
      app.listen(settings.host, settings.port, (token) => {
        if (token === false) {
          reject(new Error(`ingest cannot listen on ${settings.host}:${settings.port} (address in use or not available)`));
          return;
        }
        this.listenSocket = token;
        resolve(uws.us_socket_local_port(token as unknown as import('uWebSockets.js').us_socket));
      });
    });
  }

  /** Stops accepting connections and frames; answers every frame already received; closes sockets (1001). */
  async close(): Promise<void> {
    this.frames.draining = true;
    if (this.listenSocket !== undefined) {
      this.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    await this.router.whenIdle();
    for (const ws of [...this.sockets.keys()]) ws.end(CLOSE_GOING_AWAY, 'server shutting down');
    this.sockets.clear();
    this.logger.info(this.router.stats(), 'ingest closed');
  }
}
