// What the parent and its load threads tell each other. Plain data only: it crosses postMessage.

export interface WorkerPlan {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Bearer token sent on each upgrade; undefined: none. */
  readonly token: string | undefined;
  /** Global indices of this thread's connections, out of `totalConnections`. */
  readonly connections: readonly number[];
  readonly totalConnections: number;
  readonly robots: number;
  readonly eventsPerFrame: number;
  readonly runId: string;
  /** Closed loop: `inflight` frames per connection. Open loop: offered events/s per connection. */
  readonly pacing: { readonly kind: 'closed'; readonly inflight: number } | { readonly kind: 'open'; readonly eventsPerSecondPerConnection: number };
  readonly handshakeMs: number;
  readonly drainMs: number;
  readonly closeMs: number;
  readonly progressMs: number;
}

export interface StartMessage {
  readonly type: 'start';
  readonly seconds: number;
  readonly warmupSeconds: number;
}

export interface WorkerResult {
  readonly framesSent: number;
  readonly framesAnswered: number;
  readonly events: number;
  readonly eventsInWindow: number;
  readonly statuses: { readonly ok: number; readonly dup: number; readonly stale: number; readonly other: ReadonlyArray<[string, number]> };
  /** The latency histogram, hdr-histogram-js compressed base64. */
  readonly histogram: string;
  readonly errors: readonly string[];
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly events: number; readonly framesSent: number }
  | { readonly type: 'done'; readonly result: WorkerResult }
  | { readonly type: 'failed'; readonly message: string };
