// What a load run is asked to do, validated once, with its defaults filled in, and split into one
// plan per thread.

import { randomBytes } from 'node:crypto';
import { isLoopback } from '../../../src/auth/auth-mode.js';
import { robotName } from './frame-pool.js';
import type { WorkerPlan } from './protocol.js';

export interface WsLoadSpec {
  readonly port: number;
  /** Loopback only; default 127.0.0.1. */
  readonly host?: string;
  /** Default /upstream. A token may also ride in it as `?token=…`. */
  readonly path?: string;
  /** Bearer token for a service with authentication on (`npm run token -- --fleet`): sent as `Authorization: Bearer`. */
  readonly token?: string;
  readonly connections: number;
  readonly robots: number;
  readonly eventsPerFrame: number;
  readonly seconds: number;
  /**
   * Seconds of the same load before the measured `seconds`, whose replies count in neither the rate
   * nor the latency: a fleet joining at once (new streams, first head reads) is a burst of its own,
   * not the steady state. Default 0.
   */
  readonly warmupSeconds?: number;
  /** Worker threads the connections are spread over; default 1. */
  readonly threads?: number;
  /**
   * Open loop: offered events/s across all connections, frames sent on a schedule; latency measured
   * from the scheduled send time (no coordinated omission). Closed loop when undefined: each
   * connection keeps `inflight` frames outstanding and sends the next on each reply.
   */
  readonly rate?: number;
  /** Closed loop: frames outstanding per connection; default 8. */
  readonly inflight?: number;
  /** Prefix of robot names, so repeated runs on one data dir do not collide; default random. */
  readonly runId?: string;
  /** Called about once a second during the run. */
  readonly onProgress?: (progress: { readonly elapsedSeconds: number; readonly events: number; readonly framesSent: number }) => void;
}

export interface FilledSpec {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly token: string | undefined;
  /** At most one per robot: every robot has exactly one writer. */
  readonly connections: number;
  readonly robots: number;
  readonly eventsPerFrame: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** At most one per connection. */
  readonly threads: number;
  readonly rate: number | undefined;
  readonly inflight: number;
  readonly runId: string;
}

export const TIMEOUTS = { handshakeMs: 10_000, drainMs: 5_000, closeMs: 2_000, progressMs: 500 } as const;
const MAX_SECONDS = 3600;

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function fillSpec(spec: WsLoadSpec): FilledSpec {
  const host = spec.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`host must be a loopback address (127.0.0.1, localhost, ::1), got "${host}"`);
  const port = positiveInteger('port', spec.port);
  if (port > 65535) throw new Error(`port must be an integer 1-65535, got ${port}`);
  const path = spec.path ?? '/upstream';
  if (!path.startsWith('/') || /[\s]/.test(path)) throw new Error(`path must start with / and hold no whitespace, got "${path}"`);
  if (spec.token !== undefined && !/^[\x21-\x7e]+$/.test(spec.token)) throw new Error('token must be printable ASCII without spaces');
  const robots = positiveInteger('robots', spec.robots);
  const connections = Math.min(positiveInteger('connections', spec.connections), robots);
  const eventsPerFrame = positiveInteger('eventsPerFrame', spec.eventsPerFrame);
  if (typeof spec.seconds !== 'number' || !(spec.seconds > 0 && spec.seconds <= MAX_SECONDS)) throw new Error(`seconds must be in (0, ${MAX_SECONDS}], got ${String(spec.seconds)}`);
  const warmupSeconds = spec.warmupSeconds ?? 0;
  if (typeof warmupSeconds !== 'number' || !(warmupSeconds >= 0 && warmupSeconds <= MAX_SECONDS)) throw new Error(`warmupSeconds must be in [0, ${MAX_SECONDS}], got ${String(warmupSeconds)}`);
  const threads = Math.min(positiveInteger('threads', spec.threads ?? 1), connections);
  if (spec.rate !== undefined && !(typeof spec.rate === 'number' && spec.rate > 0 && Number.isFinite(spec.rate))) throw new Error(`rate must be a positive number of events/s, got ${String(spec.rate)}`);
  const inflight = positiveInteger('inflight', spec.inflight ?? 8);
  const runId = spec.runId ?? randomBytes(4).toString('hex');
  const longest = robotName(runId, robots - 1);
  if (/[,\p{Cc}]/u.test(runId) || runId !== runId.trim() || longest.length > 150) {
    throw new Error(`runId must make valid robot names (no comma, no control characters, at most 150 characters: "${longest}")`);
  }
  return { host, port, path, token: spec.token, connections, robots, eventsPerFrame, seconds: spec.seconds, warmupSeconds, threads, rate: spec.rate, inflight, runId };
}

/** Thread t gets connections t, t + threads, …; each connection gets an equal share of the rate. */
export function planThreads(spec: FilledSpec): WorkerPlan[] {
  return Array.from({ length: spec.threads }, (_, t) => {
    const connections: number[] = [];
    for (let c = t; c < spec.connections; c += spec.threads) connections.push(c);
    return {
      host: spec.host,
      port: spec.port,
      path: spec.path,
      token: spec.token,
      connections,
      totalConnections: spec.connections,
      robots: spec.robots,
      eventsPerFrame: spec.eventsPerFrame,
      runId: spec.runId,
      pacing:
        spec.rate === undefined
          ? { kind: 'closed', inflight: spec.inflight }
          : { kind: 'open', eventsPerSecondPerConnection: spec.rate / spec.connections },
      ...TIMEOUTS,
    };
  });
}
