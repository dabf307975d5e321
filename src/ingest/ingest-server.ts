// The uWebSockets.js ingest endpoint: ws://HOST:PORT/upstream. Connections and their limits,
// back-pressure and shutdown live here; what a frame means is FrameHandler's.

import type { Logger } from 'pino';
import type { Router } from '../actors/router.js';
import { denialJson, presentedToken } from '../auth/access.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { WriteAccess } from '../auth/scope.js';
import type { Grant, TokenSet } from '../auth/token-set.js';
import { errorBody } from '../domain/errors.js';
import { ConnectionLimits, type ConnectionRefusal } from './connection-limits.js';
import { FrameHandler } from './frame-handler.js';
import { ConnectionReplies, type StatusTally } from './frame-reply.js';
import { isNativeUws, type Uws } from './load-uws.js';
import { TokenBucket } from '../domain/token-bucket.js';

export const INGEST_PATH = '/upstream';

export interface IngestSettings {
  readonly host: string;
  readonly port: number;
  readonly maxFrameBytes: number;
  readonly idleTimeoutSeconds: number;
  readonly maxBackpressureBytes: number;
  // The limits below are absent for peers that only measure (bench/peers): absent means none.
  /** Lines per frame; a frame with more is refused whole. */
  readonly maxEventsPerFrame?: number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerToken?: number;
  /** Sustained events/s per connection; 0 or absent: no rate limit. */
  readonly maxEventsPerSecond?: number;
  /** The rate bucket's size: events a connection may send at once. */
  readonly rateBurstEvents?: number;
}

// Per-connection state lives in a map, not in uWS user data: the pure-JS fallback (when allowed)
// does not implement getUserData(). With authentication on, the upgrade hands the connection's
// grant over as user data once, at open (the fallback is refused then: see main.ts).
type Socket = import('uWebSockets.js').WebSocket<unknown>;

interface Connection {
  readonly replies: ConnectionReplies;
  /** The write scope checked per event; null: any robot. */
  readonly access: WriteAccess;
  /** The token it authenticated with; null without authentication. */
  readonly grant: Grant | null;
  /** Its send rate; null: not limited. */
  readonly rate: TokenBucket | null;
}

interface Authenticated {
  readonly grant: Grant;
  readonly access: WriteAccess;
}

/** A connection whose token was revoked or changed is closed with this code (policy violation). */
export const CLOSE_TOKEN_REVOKED = 1008;

export const CLOSE_GOING_AWAY = 1001;
/** Past the connection limit where no upgrade handler can refuse first (the pure-JS fallback): try again later. */
export const CLOSE_TRY_AGAIN_LATER = 1013;
// uWebSockets.js drops a connection (no close frame) on a frame above maxPayloadLength. Admitting
// frames up to this many times the limit lets an oversized frame be answered with a reason instead,
// while keeping what one message can buffer bounded.
export const HARD_CAP_FACTOR = 4;
/** Replies buffered for a client that does not read them, before it is closed (TELEMETRY_MAX_BACKPRESSURE_BYTES's default). */
export const MAX_BACKPRESSURE_BYTES = 16 * 1024 * 1024;

export class IngestServer {
  private listenSocket: import('uWebSockets.js').us_listen_socket | undefined;
  private readonly sockets = new Map<Socket, Connection>();
  private stopFollowingTokens: (() => void) | undefined;
  private readonly frames: FrameHandler;
  private readonly limits: ConnectionLimits;
  /** Connections accepted and closed since start (metrics). */
  private opened = 0;
  private closed = 0;

  constructor(
    private readonly uws: Uws,
    private readonly router: Router,
    private readonly settings: IngestSettings,
    private readonly logger: Logger,
    /** Null: no authentication, every connection writes any robot. */
    private readonly auth: Authenticator | null = null,
    /** Counts every status line answered (metrics); null: not counted. */
    private readonly tally: StatusTally | null = null,
  ) {
    this.frames = new FrameHandler(router, settings.maxFrameBytes, settings.maxEventsPerFrame);
    this.limits = new ConnectionLimits({
      maxConnections: settings.maxConnections ?? Number.MAX_SAFE_INTEGER,
      maxConnectionsPerToken: settings.maxConnectionsPerToken ?? Number.MAX_SAFE_INTEGER,
    });
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
      // The pure-JS fallback (allowed only without authentication) implements only the default
      // upgrade: there, the connection limit is enforced at open instead.
      ...(this.auth !== null ? { upgrade: this.upgradeWithToken(this.auth) } : isNativeUws(uws) ? { upgrade: this.upgradeOpen() } : {}),
      open: (ws) => {
        const granted = this.auth === null ? null : (ws.getUserData() as Authenticated);
        const tokenId = granted?.grant.id ?? null;
        if (this.limits.refusal(tokenId) !== null) {
          // Reached only on the fallback (or a burst of upgrades between two opens): no socket kept.
          ws.end(CLOSE_TRY_AGAIN_LATER, 'too many connections');
          return;
        }
        const replies = new ConnectionReplies({ send: (reply) => void ws.send(reply, false), cork: (sends) => void ws.cork(sends) }, this.tally);
        this.opened++;
        this.limits.opened(tokenId);
        const perSecond = settings.maxEventsPerSecond ?? 0;
        const rate = perSecond > 0 ? new TokenBucket(perSecond, settings.rateBurstEvents ?? perSecond, performance.now()) : null;
        this.sockets.set(ws, { replies, access: granted?.access ?? null, grant: granted?.grant ?? null, rate });
      },
      message: (ws, message, isBinary) => {
        const connection = this.sockets.get(ws);
        if (connection === undefined) return; // refused at open, or revoked: its socket is closing
        this.frames.handle(connection.replies, message, isBinary, connection.access, connection.rate);
      },
      close: (ws) => void this.forget(ws),
    });
    if (this.auth !== null) this.stopFollowingTokens = this.auth.onReload((tokens) => this.closeRevoked(tokens));
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

  /** Connections open now, and accepted and closed since start (read per scrape, not per event). */
  connectionCounts(): { open: number; opened: number; closed: number } {
    return { open: this.sockets.size, opened: this.opened, closed: this.closed };
  }

  /** Stops accepting connections and frames; answers every frame already received; closes sockets (1001). */
  async close(): Promise<void> {
    this.frames.draining = true;
    this.stopFollowingTokens?.();
    if (this.listenSocket !== undefined) {
      this.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    await this.router.whenIdle();
    for (const ws of [...this.sockets.keys()]) {
      this.forget(ws);
      ws.end(CLOSE_GOING_AWAY, 'server shutting down');
    }
    this.logger.info(this.router.stats(), 'ingest closed');
  }

  /** Drops a connection's state once (close handler, revocation, shutdown); false if already gone. */
  private forget(ws: Socket): boolean {
    const connection = this.sockets.get(ws);
    if (connection === undefined) return false;
    connection.replies.close();
    this.sockets.delete(ws);
    this.limits.closed(connection.grant?.id ?? null);
    this.closed++;
    return true;
  }

  /** Without authentication: only the total connection limit is checked before the upgrade. */
  private upgradeOpen() {
    return (res: import('uWebSockets.js').HttpResponse, req: import('uWebSockets.js').HttpRequest, context: import('uWebSockets.js').us_socket_context_t): void => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const refusal = this.limits.refusal(null);
      if (refusal !== null) return this.refuse(res, refusal);
      res.upgrade({}, key, protocol, extensions, context);
    };
  }

  /** A plain HTTP answer in place of the upgrade, with our JSON error body: no socket is kept. */
  private refuse(res: import('uWebSockets.js').HttpResponse, refusal: ConnectionRefusal): void {
    this.logger.debug({ status: refusal.status, reason: refusal.error.message }, 'ingest connection refused: limit');
    res
      .writeStatus(refusal.status === 503 ? '503 Service Unavailable' : '429 Too Many Requests')
      .writeHeader('retry-after', '1')
      .writeHeader('content-type', 'application/json; charset=utf-8')
      .end(JSON.stringify(errorBody(refusal.error)));
  }

  /**
   * Checks the token before the upgrade completes: a refusal is a plain HTTP 401/403 with a JSON
   * body, and no socket. uWS forbids touching `req` once this returns, so everything is read and
   * decided synchronously (one SHA-256 per connection attempt).
   */
  private upgradeWithToken(auth: Authenticator) {
    return (res: import('uWebSockets.js').HttpResponse, req: import('uWebSockets.js').HttpRequest, context: import('uWebSockets.js').us_socket_context_t): void => {
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const authorization = req.getHeader('authorization');
      const decision = auth.checkIngest(presentedToken(authorization === '' ? undefined : authorization, req.getQuery('token')));
      if ('error' in decision) {
        if (decision.status === 401) {
          this.logger.debug({ reason: decision.error.message }, 'ingest connection refused: 401');
          res.writeStatus('401 Unauthorized').writeHeader('www-authenticate', 'Bearer realm="telemetry"');
        } else {
          this.logger.info({ reason: decision.error.message }, 'ingest connection refused: 403');
          res.writeStatus('403 Forbidden');
        }
        res.writeHeader('content-type', 'application/json; charset=utf-8').end(denialJson(decision));
        return;
      }
      const refusal = this.limits.refusal(decision.grant.id);
      if (refusal !== null) return this.refuse(res, refusal);
      const granted: Authenticated = { grant: decision.grant, access: decision.access };
      res.upgrade(granted, key, protocol, extensions, context);
    };
  }

  /** After a tokens file change: connections whose token is gone or changed are closed. */
  private closeRevoked(tokens: TokenSet): void {
    let closed = 0;
    for (const [ws, connection] of this.sockets) {
      if (connection.grant === null || tokens.stillGrants(connection.grant)) continue;
      this.forget(ws);
      ws.end(CLOSE_TOKEN_REVOKED, 'token revoked');
      closed++;
    }
    if (closed > 0) this.logger.info({ closed }, 'closed ingest connections whose token was revoked or changed');
  }
}
