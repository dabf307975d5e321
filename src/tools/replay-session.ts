// One replay over one WebSocket: connect (with the bearer token, if any), send frames as the input
// yields them with at most `inflight` unanswered, paced by a token bucket when a rate is set, match
// each reply to its frame (replies come in frame order), and end when every frame is answered or
// the connection is lost. Never throws for a network problem: the result says what went wrong.

import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Frame } from './frames.js';
import type { TokenBucket } from '../domain/token-bucket.js';

export interface ReplaySessionOptions {
  readonly url: string;
  readonly token?: string | undefined;
  readonly inflight: number;
  readonly bucket?: TokenBucket | undefined;
  /** Aborting stops sending; frames already sent are still awaited. */
  readonly signal?: AbortSignal | undefined;
  readonly onReply: (frame: Frame, reply: string) => void;
  readonly handshakeTimeoutMs?: number;
}

export interface ReplaySessionResult {
  readonly framesSent: number;
  readonly eventsSent: number;
  /** Frames sent but never answered, when the connection was lost. */
  readonly unanswered: readonly Frame[];
  /** Why the replay could not finish, or null. */
  readonly failure: string | null;
  readonly interrupted: boolean;
}

export async function runReplaySession(frames: AsyncIterable<Frame>, options: ReplaySessionOptions): Promise<ReplaySessionResult> {
  const connected = await connect(options);
  if (typeof connected === 'string') return { framesSent: 0, eventsSent: 0, unanswered: [], failure: connected, interrupted: false };
  const ws = connected;

  const waiting: Frame[] = [];
  let failure: string | null = null;
  let closed = false;
  let finishedSending = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  const changed = () => new Promise<void>((resolve) => (wake = resolve));

  ws.on('message', (data) => {
    const frame = waiting.shift();
    if (frame === undefined) {
      failure ??= 'the server sent a reply for no frame';
      ws.terminate();
      return;
    }
    options.onReply(frame, data.toString());
    notify();
  });
  ws.on('error', (error) => {
    failure ??= `connection error: ${error.message}`;
    notify();
  });
  const closedEvent = new Promise<void>((resolve) =>
    ws.once('close', (code, reason) => {
      closed = true;
      if (waiting.length > 0 || !finishedSending) {
        failure ??= `the server closed the connection (${describeClose(code, reason.toString())})`;
      }
      notify();
      resolve();
    }),
  );
  options.signal?.addEventListener('abort', notify, { once: true });

  let framesSent = 0;
  let eventsSent = 0;
  const stopped = () => closed || failure !== null || options.signal?.aborted === true;
  try {
    for await (const frame of frames) {
      if (stopped()) break;
      while (waiting.length >= options.inflight && !stopped()) await changed();
      const delay = options.bucket?.borrow(frame.events, performance.now()) ?? 0;
      if (delay > 0) {
        // Replies keep arriving while we wait; only the clock (or a stop) ends the wait.
        const due = performance.now() + delay;
        for (let left = delay; left > 0 && !stopped(); left = due - performance.now()) await pause(left, changed());
      }
      if (stopped()) break;
      waiting.push(frame);
      framesSent++;
      eventsSent += frame.events;
      ws.send(frame.text);
    }
  } catch (error) {
    failure ??= `reading the input failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  finishedSending = true;
  // An interrupted replay still waits for the frames already sent: their events may be stored.
  while (waiting.length > 0 && !closed && failure === null) await changed();
  if (!closed) {
    ws.close(1000, failure === null ? 'replay done' : 'replay failed');
    await closedEvent;
  }
  return {
    framesSent,
    eventsSent,
    unanswered: waiting.splice(0),
    failure,
    interrupted: options.signal?.aborted === true,
  };
}

/** An open socket, or why there is none. */
function connect(options: ReplaySessionOptions): Promise<WebSocket | string> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  return new Promise((resolve) => {
    const ws = new WebSocket(options.url, {
      headers,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      perMessageDeflate: false,
    });
    let settled = false;
    const settle = (outcome: WebSocket | string) => {
      if (settled) return;
      settled = true;
      ws.removeAllListeners('open');
      ws.removeAllListeners('unexpected-response');
      ws.removeAllListeners('error');
      if (typeof outcome === 'string') ws.on('error', () => undefined); // late errors of an abandoned socket
      resolve(outcome);
    };
    ws.once('open', () => settle(ws));
    ws.once('error', (error: NodeJS.ErrnoException) => settle(`cannot connect to ${options.url}: ${describeConnectError(error)}`));
    ws.once('unexpected-response', (_request, response) => {
      void refusal(response).then((why) => {
        settle(`${options.url} refused the connection: ${why}`);
        // Not request.destroy(): once the response is complete that leaves the socket open until
        // the handshake timeout (ws issue #1869). terminate() destroys the socket too.
        ws.terminate();
      });
    });
  });
}

/** `HTTP 401 Unauthorized: <the JSON error's message>`, with a hint where one helps. */
async function refusal(response: IncomingMessage): Promise<string> {
  let body = '';
  response.setEncoding('utf8');
  try {
    for await (const chunk of response) {
      body += chunk;
      if (body.length > 4096) break;
    }
  } catch {
    // The status line is enough to report.
  }
  let why = `HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trimEnd();
  try {
    // The service's JSON error: its code names the entry in docs/errors.md; its message says why.
    const { code, message } = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (typeof message === 'string') why = `HTTP ${response.statusCode}${typeof code === 'string' ? ` ${code}` : ''}: ${message}`;
  } catch {
    if (body.trim() !== '' && body.length < 200) why += `: ${body.trim()}`;
  }
  if (response.statusCode === 401) why += ' (pass --token or set TELEMETRY_TOKEN)';
  return why;
}

function describeConnectError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the service running, on this port?)';
    case 'ENOTFOUND':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'timed out';
    default:
      return error.message;
  }
}

function describeClose(code: number, reason: string): string {
  const meaning: Record<number, string> = { 1000: 'normal', 1001: 'going away', 1006: 'abnormal, no close frame', 1008: 'policy violation', 1009: 'message too big', 1011: 'server error' };
  const named = meaning[code] !== undefined ? `code ${code} ${meaning[code]}` : `code ${code}`;
  return reason === '' ? named : `${named}: ${reason}`;
}

/** Waits `ms`, or less when `interrupted` settles first. */
async function pause(ms: number, interrupted: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), interrupted]);
  clearTimeout(timer);
}
