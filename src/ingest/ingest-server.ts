// The uWebSockets.js ingest endpoint: ws://HOST:PORT/upstream. Parses each text frame line by line,
// answers malformed lines at once, hands valid events to the router, and replies once per frame.

import type { Logger } from 'pino';
import type { Router } from '../actors/router.js';
import { ERR_SHUTTING_DOWN, errorReply } from '../domain/outcome.js';
import { forEachLine, newParsedEvent, parseEventLine } from '../domain/wire-format.js';
import { ConnectionReplies, type FrameReply } from './frame-reply.js';
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

const ERR_BINARY = errorReply('binary frames are not accepted; send text frames');
const ERR_UTF8 = errorReply('frame is not valid UTF-8');
const CLOSE_GOING_AWAY = 1001;
// uWebSockets.js drops a connection (no close frame) on a frame above maxPayloadLength. Admitting
// frames up to this many times the limit lets an oversized frame be answered with a reason instead,
// while keeping what one message can buffer bounded.
const HARD_CAP_FACTOR = 4;

export class IngestServer {
  private listenSocket: import('uWebSockets.js').us_listen_socket | undefined;
  private readonly sockets = new Map<Socket, ConnectionReplies>();
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly scratch = newParsedEvent();
  private draining = false;
  private readonly errTooLarge: string;
  private boundPort = 0;

  constructor(
    private readonly uws: Uws,
    private readonly router: Router,
    private readonly settings: IngestSettings,
    private readonly logger: Logger,
  ) {
    this.errTooLarge = errorReply(`frame exceeds ${settings.maxFrameBytes} bytes`);
  }

  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.sockets.size;
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
      message: (ws, message, isBinary) => this.onFrame(this.sockets.get(ws)!, message, isBinary),
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
        this.boundPort = uws.us_socket_local_port(token as unknown as import('uWebSockets.js').us_socket);
        resolve(this.boundPort);
      });
    });
  }

  private onFrame(replies: ConnectionReplies, message: ArrayBuffer, isBinary: boolean): void {
    const frame = replies.open();
    if (isBinary) return rejectFrame(frame, ERR_BINARY);
    if (message.byteLength > this.settings.maxFrameBytes) return rejectFrame(frame, this.errTooLarge);
    let text: string;
    try {
      text = this.decoder.decode(message);
    } catch {
      return rejectFrame(frame, ERR_UTF8);
    }
    if (this.draining) {
      forEachLine(text, (_line, slot) => (frame.statuses[slot] = ERR_SHUTTING_DOWN));
      frame.seal();
      return;
    }
    const scratch = this.scratch;
    const router = this.router;
    forEachLine(text, (line, slot) => {
      const reason = parseEventLine(line, scratch);
      if (reason !== null) {
        frame.statuses[slot] = errorReply(reason);
        return;
      }
      frame.expect();
      router.route(scratch.robot, scratch.x, scratch.y, scratch.timestamp, frame, slot);
    });
    frame.seal();
  }

  /** Stops accepting connections and frames; answers every frame already received; closes sockets (1001). */
  async close(): Promise<void> {
    this.draining = true;
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

function rejectFrame(frame: FrameReply, status: string): void {
  frame.statuses[0] = status;
  frame.seal();
}
