// The live feed over a real listener and node:http clients: the real SQLite log, the real read side
// (ProjectionService and its log follower) feeding the hub, and the Fastify app on port 0.

import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp, type Health } from '../../src/api/app.js';
import { LiveHub, type LiveHubOptions } from '../../src/api/live/live-hub.js';
import { ProjectionService } from '../../src/projections/projection-service.js';
import type { RobotSummary } from '../../src/projections/robot-projection.js';
import type { EventLog } from '../../src/store/event-log.js';
import { openLog, type LogSpec } from '../../src/store/log-spec.js';
import { makeTempDir } from '../support/temp-dir.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface Message {
  readonly event: string;
  readonly data: RobotSummary;
  readonly at: number;
}

/** An SSE subscriber on node:http that records every message and comment as it arrives. */
class FeedClient {
  readonly messages: Message[] = [];
  readonly comments: string[] = [];
  readonly ended: Promise<void>;
  private buffer = '';
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly response: IncomingMessage,
    private readonly req: ClientRequest,
  ) {
    response.setEncoding('utf8');
    response.on('data', (text: string) => this.receive(text));
    this.ended = new Promise((resolve) => response.once('close', () => resolve()));
  }

  static open(port: number, query: string): Promise<FeedClient> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: `/api/live${query}`, headers: { accept: 'text/event-stream' } });
      req.once('response', (response) => resolve(new FeedClient(response, req)));
      req.once('error', reject);
      req.end();
    });
  }

  /** The whole body of a non-stream answer (an error). */
  async body(): Promise<unknown> {
    await this.ended;
    return JSON.parse(this.buffer);
  }

  positions(robot: string): Message[] {
    return this.messages.filter((message) => message.event === 'position' && message.data.name === robot);
  }

  /** Resolves once `check` holds for what has arrived (re-checked on every message). */
  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = () => {
        if (!check()) return;
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
      this.ended.then(() => {
        if (this.listeners.delete(listener)) reject(new Error(`stream ended before ${what}`));
      });
    });
  }

  close(): void {
    this.req.destroy();
  }

  private receive(text: string): void {
    this.buffer += text;
    if (!String(this.response.headers['content-type']).startsWith('text/event-stream')) return;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (data !== undefined) this.messages.push({ event, data: JSON.parse(data) as RobotSummary, at: performance.now() });
    }
    for (const listener of [...this.listeners]) listener();
  }
}

let dir: ReturnType<typeof makeTempDir>;
let log: EventLog;
let readSide: ProjectionService;
let hub: LiveHub;
let app: ReturnType<typeof buildApp>;
let port: number;
let feeds: FeedClient[];

async function start(options: Partial<LiveHubOptions> = {}, health: () => Health = () => ({ status: 'ok' })): Promise<void> {
  const spec: LogSpec = { kind: 'sqlite', dataDir: dir.path };
  log = await openLog(spec);
  readSide = new ProjectionService(
    log,
    spec,
    { dataDir: dir.path, rebuildThreads: 1, forceRebuild: false, checkpointEveryEvents: 1e9, checkpointEverySeconds: 3600 },
    logger,
  );
  hub = new LiveHub(() => readSide.current(), { intervalMs: 250, heartbeatMs: 15_000, stallMs: 30_000, ...options });
  readSide.onRobotChanged(hub.robotChanged);
  await readSide.start();
  app = buildApp({ logger, log, projections: () => readSide.current(), admin: readSide, live: hub, health });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
}

async function feed(query = ''): Promise<FeedClient> {
  const client = await FeedClient.open(port, query);
  feeds.push(client);
  return client;
}

/** Commits events (x, y, t triples) to a robot's stream and waits until the projections have them. */
async function commit(robot: string, ...triples: Array<[number, number, number]>): Promise<void> {
  await log.append(robot, Float64Array.from(triples.flat()), 'any');
  await readSide.whenProjected();
}

function summary(robot: string): RobotSummary {
  return readSide.current().get(robot)!.summary();
}

beforeEach(() => {
  dir = makeTempDir();
  feeds = [];
});

afterEach(async () => {
  for (const client of feeds) client.close();
  await app?.close();
  await readSide?.stop();
  await log?.close();
  dir.remove();
});

describe('GET /api/live', () => {
  it('streams text/event-stream, starting with the current position of every robot', async () => {
    await start();
    await commit('Bender', [0, 0, 1], [3, 4, 2]);
    await commit('Calculon', [1, 1, 5]);
    const client = await feed();
    expect(client.response.statusCode).toBe(200);
    expect(client.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.response.headers['cache-control']).toContain('no-cache');
    await client.until(() => client.messages.length >= 2, 'the snapshot');
    expect(client.messages.map((m) => m.event)).toEqual(['position', 'position']);
    expect(client.positions('Bender').map((m) => m.data)).toEqual([summary('Bender')]);
    expect(client.positions('Calculon').map((m) => m.data)).toEqual([summary('Calculon')]);
    expect(summary('Bender')).toMatchObject({ last_x: 3, last_y: 4, last_timestamp: 2, odometer: 5, event_count: 2 });
    expect(hub.clientCount).toBe(1);
  });

  it('coalesces a burst of commits into at most one message per robot per interval, the latest winning', async () => {
    const intervalMs = 1000;
    await start();
    await commit('Bender', [0, 0, 0]);
    const client = await feed(`?robots=Bender&interval_ms=${intervalMs}`);
    await client.until(() => client.positions('Bender').length === 1, 'the snapshot');

    const commits = 20;
    const began = performance.now();
    for (let t = 1; t <= commits; t++) await commit('Bender', [t, 0, t]);
    const burstMs = performance.now() - began;
    const final = summary('Bender');
    expect(final.event_count).toBe(commits + 1);

    await client.until(() => client.positions('Bender').some((m) => m.data.event_count === final.event_count), 'the latest position');
    const received = client.positions('Bender');
    const updates = received.slice(1);
    // One message per interval at most: a burst shorter than an interval arrives as one message.
    expect(updates.length).toBeLessThanOrEqual(1 + Math.ceil(burstMs / intervalMs));
    expect(updates.length).toBeLessThan(commits);
    for (let i = 1; i < received.length; i++) {
      // Timers may fire a millisecond early by rounding; never a whole interval.
      expect(received[i]!.at - received[i - 1]!.at).toBeGreaterThanOrEqual(intervalMs - 5);
    }
    expect(received.at(-1)!.data).toEqual(final);
    expect(final).toMatchObject({ last_x: commits, last_y: 0, last_timestamp: commits, odometer: commits });
  });

  it('sends only the robots a client asked for, including ones that appear later', async () => {
    await start({ intervalMs: 50 });
    await commit('Bender', [0, 0, 1]);
    const onlyCalculon = await feed('?robots=Calculon,Rob%20Oto');
    const everyone = await feed();
    await everyone.until(() => everyone.positions('Bender').length === 1, 'the snapshot');

    await commit('Bender', [1, 0, 2]);
    await commit('Rob Oto', [7, 7, 3]);
    await commit('Calculon', [2, 2, 4]);
    await onlyCalculon.until(
      () => onlyCalculon.positions('Calculon').length > 0 && onlyCalculon.positions('Rob Oto').length > 0,
      'Calculon and Rob Oto',
    );
    await everyone.until(
      () => everyone.positions('Calculon').length > 0 && everyone.positions('Bender').some((m) => m.data.event_count === 2),
      'every robot',
    );
    // Bender's commit came first: had the filter let it through, it would have arrived by now.
    expect(onlyCalculon.positions('Bender')).toEqual([]);
    expect(onlyCalculon.positions('Rob Oto').at(-1)!.data).toEqual(summary('Rob Oto'));
    expect(onlyCalculon.positions('Calculon').at(-1)!.data).toEqual(summary('Calculon'));
  });

  it('forgets a client when it disconnects', async () => {
    await start();
    const staying = await feed();
    const leaving = await feed('?robots=Bender');
    await staying.until(() => staying.comments.includes('connected'), 'the greeting');
    await leaving.until(() => leaving.comments.includes('connected'), 'the greeting');
    expect(hub.clientCount).toBe(2);
    leaving.close();
    await vi.waitFor(() => expect(hub.clientCount).toBe(1), { timeout: 5000, interval: 10 });
    // The remaining client still gets updates.
    await commit('Bender', [0, 0, 1]);
    await staying.until(() => staying.positions('Bender').length === 1, 'an update after the other left');
  });

  it('sends heartbeat comments on an idle stream', async () => {
    await start({ heartbeatMs: 100 });
    const client = await feed();
    await client.until(() => client.comments.filter((c) => c === 'heartbeat').length >= 2, 'two heartbeats');
  });

  it('ends open streams when the app closes, so close() does not hang', async () => {
    await start();
    const a = await feed();
    const b = await feed('?robots=Bender');
    await a.until(() => a.comments.includes('connected'), 'the greeting');
    await b.until(() => b.comments.includes('connected'), 'the greeting');
    await app.close();
    await Promise.all([a.ended, b.ended]);
    expect(hub.clientCount).toBe(0);
  });

  it.each([
    ['?robots=', 'robots: "": '],
    ['?robots=Bender,,Calculon', 'robots: "": '],
    ['?robots=%20Bender', 'robots: " Bender": '],
    ['?robots=a&robots=b', 'robots must be given once'],
    ['?interval_ms=10', 'interval_ms must be an integer from 50 to 60000, got "10"'],
    ['?interval_ms=abc', 'interval_ms must be an integer from 50 to 60000, got "abc"'],
  ])('answers %s with a 400 JSON error and opens no stream', async (query, message) => {
    await start();
    const client = await feed(query);
    expect(client.response.statusCode).toBe(400);
    const body = (await client.body()) as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 400, code: 'TELEMETRY_INVALID_QUERY', error: 'Bad Request' });
    expect(String(body.message)).toContain(message);
    expect(hub.clientCount).toBe(0);
  });

  it('answers 503 until projections have caught up', async () => {
    let health: Health = { status: 'starting', reason: 'projections are catching up with the log' };
    await start({}, () => health);
    const early = await feed();
    expect(early.response.statusCode).toBe(503);
    expect(await early.body()).toMatchObject({ code: 'TELEMETRY_NOT_READY' });
    health = { status: 'ok' };
    const later = await feed();
    expect(later.response.statusCode).toBe(200);
  });
});
