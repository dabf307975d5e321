// The ingest limits against the real service (uWebSockets.js on port 0, SQLite in a temp dir):
// events per frame, the per-connection rate, connections in total and per token, a robot's
// bounded mailbox, and a client that never reads its replies. Every refusal is checked against
// what the log holds afterwards: nothing refused is stored.

import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, tryUpgrade, writeTokens } from '../support/auth-tokens.js';
import { eventually } from '../support/eventually.js';
import { getJson, startTestService, type TestService } from '../support/in-process-service.js';
import { IngestClient } from '../support/ingest-client.js';
import { clientFrame, rawUpgrade } from '../support/raw-ws.js';
import { makeTempDir } from '../support/temp-dir.js';

const services: TestService[] = [];
const clients: IngestClient[] = [];
const sockets: Socket[] = [];
const dirs: Array<ReturnType<typeof makeTempDir>> = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const service of services.splice(0)) await service.close();
  for (const dir of dirs.splice(0)) dir.remove();
});

async function start(env: Record<string, string> = {}): Promise<TestService & { dataDir: string }> {
  const dir = makeTempDir();
  dirs.push(dir);
  const service = await startTestService({ TELEMETRY_DATA_DIR: dir.path, ...env });
  services.push(service);
  return { ...service, dataDir: dir.path };
}

async function connect(port: number, headers: Record<string, string> = {}): Promise<IngestClient> {
  const client = await IngestClient.connect(port, '/upstream', headers);
  clients.push(client);
  return client;
}

async function stored(service: TestService, robot: string, headers: Record<string, string> = {}): Promise<number[]> {
  await service.whenProjected();
  const response = await fetch(`${service.http}/api/robots/${encodeURIComponent(robot)}/events?limit=100000`, { headers });
  expect(response.status).toBe(200);
  return ((await response.json()) as Array<{ timestamp: number }>).map((e) => e.timestamp);
}

/** Reads one gauge or counter from /metrics (read per check, never cached). */
async function metric(service: TestService, name: string): Promise<number> {
  const text = await (await fetch(`${service.http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

const line = (t: number, robot: string) => `${t % 7},${t % 5},${t},${robot}`;

describe('events per frame', () => {
  it('takes a frame at the limit and refuses one over it whole, with one reply line, storing nothing', async () => {
    const service = await start({ TELEMETRY_MAX_EVENTS_PER_FRAME: '5' });
    const client = await connect(service.ingestPort);
    expect(await client.sendEvents([1, 2, 3, 4, 5].map((t) => line(t, 'per-frame')))).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);
    // A trailing newline ends the last line: still five events.
    expect(await client.send([6, 7, 8, 9, 10].map((t) => line(t, 'per-frame')).join('\n') + '\n')).toBe('OK\nOK\nOK\nOK\nOK');
    expect(await client.sendEvents([11, 12, 13, 14, 15, 16].map((t) => line(t, 'per-frame')))).toEqual(['ERR frame exceeds 5 events']);
    expect(await client.send('\n'.repeat(100))).toBe('ERR frame exceeds 5 events');
    expect(await stored(service, 'per-frame')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe('rate per connection', () => {
  it('answers lines over the bucket `ERR rate limited`, stores none of them, and gives each connection its own bucket', async () => {
    const service = await start({ TELEMETRY_MAX_EVENTS_PER_SECOND: '1', TELEMETRY_RATE_BURST_EVENTS: '10' });
    const began = performance.now();
    const first = await connect(service.ingestPort);
    const replies = await first.sendEvents(Array.from({ length: 30 }, (_, i) => line(i + 1, 'rated')));
    const elapsedSeconds = (performance.now() - began) / 1000;
    const ok = replies.filter((r) => r === 'OK').length;
    // The burst, plus at most what 1 event/s refilled while the test ran.
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds));
    expect(replies).toEqual([...Array<string>(ok).fill('OK'), ...Array<string>(30 - ok).fill('ERR rate limited')]);
    // Malformed lines draw tokens too: the bucket is empty, so they are not even parsed.
    expect(await first.sendEvents(['garbage', 'x,y'])).toEqual(['ERR rate limited', 'ERR rate limited']);

    const second = await connect(service.ingestPort);
    expect(await second.sendEvents([line(1000, 'rated-2'), 'garbage'])).toEqual(['OK', 'ERR expected 4 comma-separated fields: x,y,timestamp,robot_name']);
    const timestamps = await stored(service, 'rated');
    expect(timestamps).toEqual(Array.from({ length: ok }, (_, i) => i + 1));
  });

  it('is off with TELEMETRY_MAX_EVENTS_PER_SECOND=0', async () => {
    const service = await start({ TELEMETRY_MAX_EVENTS_PER_SECOND: '0', TELEMETRY_RATE_BURST_EVENTS: '1' });
    const client = await connect(service.ingestPort);
    const replies = await client.sendEvents(Array.from({ length: 50 }, (_, i) => line(i + 1, 'unrated')));
    expect(replies.every((r) => r === 'OK')).toBe(true);
  });
});

describe('connection limits', () => {
  it('refuses the upgrade past TELEMETRY_MAX_CONNECTIONS with a 503 JSON error and no socket, and admits again once one closes', async () => {
    const service = await start({ TELEMETRY_MAX_CONNECTIONS: '3' });
    const held = [await connect(service.ingestPort), await connect(service.ingestPort), await connect(service.ingestPort)];
    const refused = await tryUpgrade(service.ingestPort);
    expect(refused).toMatchObject({
      opened: false,
      status: 503,
      body: { statusCode: 503, code: 'TELEMETRY_TOO_MANY_CONNECTIONS', error: 'Service Unavailable' },
    });
    if (!refused.opened) {
      expect(refused.body.message).toContain('TELEMETRY_MAX_CONNECTIONS');
      expect(refused.headers['retry-after']).toBe('1');
    }
    // The held ones still work.
    expect(await held[2]!.send(line(1, 'held'))).toBe('OK');
    expect(await metric(service, 'telemetry_ingest_connections')).toBe(3);
    await held[0]!.close();
    await eventually(async () => (await metric(service, 'telemetry_ingest_connections')) === 2, 5000, 'the close to be seen');
    expect(await tryUpgrade(service.ingestPort)).toEqual({ opened: true });
  });

  it('refuses a token past TELEMETRY_MAX_CONNECTIONS_PER_TOKEN with a 429 JSON error, while other tokens still connect', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const tokensFile = join(dir.path, 'tokens.json');
    const [a, b, reader] = writeTokens(tokensFile, [{ type: 'fleet' }, { type: 'fleet' }, { type: 'read' }]);
    const service = await start({ TELEMETRY_TOKENS_FILE: tokensFile, TELEMETRY_MAX_CONNECTIONS_PER_TOKEN: '2' });
    const a1 = await connect(service.ingestPort, bearer(a!.token));
    await connect(service.ingestPort, bearer(a!.token));
    const refused = await tryUpgrade(service.ingestPort, '/upstream', bearer(a!.token));
    expect(refused).toMatchObject({
      opened: false,
      status: 429,
      body: { statusCode: 429, code: 'TELEMETRY_TOO_MANY_TOKEN_CONNECTIONS', error: 'Too Many Requests' },
    });
    if (!refused.opened) expect(refused.body.message).toContain(a!.entry.id);
    const b1 = await connect(service.ingestPort, bearer(b!.token));
    expect(await b1.send(line(1, 'token-b'))).toBe('OK');
    expect(await a1.send(line(1, 'token-a'))).toBe('OK');
    await a1.close();
    const readHeaders = bearer(reader!.token);
    await eventually(
      async () => (await tryUpgrade(service.ingestPort, '/upstream', bearer(a!.token))).opened,
      5000,
      'token a to be admitted again',
    );
    expect(await stored(service, 'token-a', readHeaders)).toEqual([1]);
  });
});

describe('a robot mailbox', () => {
  it('answers `ERR busy` past TELEMETRY_MAX_MAILBOX_EVENTS for that robot only, and stores none of those', async () => {
    const service = await start({ TELEMETRY_MAX_MAILBOX_EVENTS: '1' });
    const client = await connect(service.ingestPort);
    // A frame's events wait in their robots' mailboxes until the next commit round takes them: the
    // first event of 'mbx' fills its mailbox (of one), the next ones find it full. Another robot
    // has its own mailbox.
    const replies = await client.sendEvents([line(1, 'mbx'), line(2, 'mbx'), line(3, 'mbx'), line(1, 'other'), line(4, 'mbx'), line(2, 'other')]);
    expect(replies).toEqual(['OK', 'ERR busy', 'ERR busy', 'OK', 'ERR busy', 'ERR busy']);
    expect(await stored(service, 'mbx')).toEqual([1]);
    expect(await stored(service, 'other')).toEqual([1]);
    // Once drained, the robot takes events again.
    expect(await client.sendEvents([line(3, 'mbx')])).toEqual(['OK']);
    expect(await stored(service, 'mbx')).toEqual([1, 3]);
  });
});

describe('a client that never reads its replies', () => {
  it('is closed once its unsent replies pass TELEMETRY_MAX_BACKPRESSURE_BYTES, and the service carries on', async () => {
    const service = await start({ TELEMETRY_MAX_BACKPRESSURE_BYTES: '65536', TELEMETRY_MAX_EVENTS_PER_SECOND: '0' });
    const socket = await rawUpgrade(service.ingestPort);
    sockets.push(socket);
    // 2-byte lines answered with ~70-byte reasons: 40 frames × 5,000 lines ask for ~14 MB of replies,
    // far more than loopback socket buffers plus the 64 KiB bound hold.
    const frame = clientFrame(Buffer.from('x\n'.repeat(5000)));
    for (let i = 0; i < 40; i++) socket.write(frame);
    await eventually(async () => (await metric(service, 'telemetry_ingest_connections_closed_total')) === 1, 20_000, 'the server to close the reader');
    expect(await metric(service, 'telemetry_ingest_connections')).toBe(0);
    const other = await connect(service.ingestPort);
    expect(await other.send(line(1, 'after'))).toBe('OK');
  });
});

describe('idle connections', () => {
  // uWebSockets.js's idle timeout has an 8 s floor (TELEMETRY_IDLE_TIMEOUT_SECONDS ≥ 8), so this test
  // waits that long by nature; both clients wait together.
  it('closes a connection that neither sends nor answers pings after TELEMETRY_IDLE_TIMEOUT_SECONDS, and keeps one that answers them', async () => {
    const service = await start({ TELEMETRY_IDLE_TIMEOUT_SECONDS: '8' });
    const silent = await rawUpgrade(service.ingestPort);
    sockets.push(silent);
    const opened = Date.now();
    // The raw socket reads (so back-pressure is not the cause, and it sees the server's FIN) but
    // never answers a ping.
    silent.on('data', () => undefined);
    silent.resume();
    const polite = await connect(service.ingestPort); // the ws library answers pings by itself
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    // uSockets checks timeouts on a 4 s tick, so the close lands 4–8 s after the last activity.
    const idleMs = Date.now() - opened;
    expect(idleMs).toBeGreaterThanOrEqual(3_500);
    expect(idleMs).toBeLessThan(20_000);
    expect(await polite.send(line(1, 'polite'))).toBe('OK');
    expect(await metric(service, 'telemetry_ingest_connections')).toBe(1);
  }, 30_000);
});

describe('many connections', () => {
  // Both ends live in this process: 2 × N descriptors against `ulimit -n` (20000 here and in CI).
  const N = 4000;

  it(`holds ${N} connections to one service, idle and active, and every one of them works`, async () => {
    const service = await start({ TELEMETRY_MAX_CONNECTIONS: String(N) });
    const began = performance.now();
    const held: IngestClient[] = [];
    for (let i = 0; i < N; i += 250) {
      held.push(...(await Promise.all(Array.from({ length: Math.min(250, N - i) }, () => connect(service.ingestPort)))));
    }
    const opened = performance.now();
    expect(await metric(service, 'telemetry_ingest_connections')).toBe(N);
    // Over the limit now: the next one is refused, the held ones are unaffected.
    expect(await tryUpgrade(service.ingestPort)).toMatchObject({ opened: false, status: 503 });
    // Every other connection is active (three frames), the rest idle until the end, then one frame each.
    for (let round = 0; round < 3; round++) {
      const replies = await Promise.all(held.filter((_, i) => i % 2 === 0).map((c, i) => c.send(line(round + 1, `many-${i}`))));
      expect(replies.every((r) => r === 'OK')).toBe(true);
    }
    const idle = await Promise.all(held.filter((_, i) => i % 2 === 1).map((c, i) => c.send(line(1, `idle-${i}`))));
    expect(idle.every((r) => r === 'OK')).toBe(true);
    const robots = (await getJson(`${service.http}/api/robots`)).body as unknown[];
    expect(robots.length).toBe(N);
    console.log(`held ${N} connections: opened in ${Math.round(opened - began)} ms, ${N / 2} active × 3 frames + ${N / 2} idle × 1 frame all answered OK`);
  }, 60_000);
});
