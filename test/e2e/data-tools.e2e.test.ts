// `npm run generate` and `npm run replay` as the processes a user runs, against the real service on
// port 0: the generated file goes in, the REST API serves back exactly its events and odometers, a
// second replay is all DUP, a bad line is reported with its reason and line, and the failures a
// user meets (bad flags, nothing listening, a server that hangs up) exit with the promised codes.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { writeTokens } from '../support/auth-tokens.js';
import { getJson, startTestService, type TestService } from '../support/in-process-service.js';
import { makeTempDir } from '../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `src/tools/<tool>.ts` as its own process, the way `npm run <tool>` does after a build.
 * `started` receives the process, for tests that signal it.
 */
async function runTool(
  tool: 'generate' | 'replay',
  args: string[],
  env: Record<string, string> = {},
  started: (child: ChildProcess) => void = () => undefined,
): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/tools/${tool}.ts`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

interface FileEvent {
  x: number;
  y: number;
  timestamp: number;
}

function eventsByRobot(csv: string): Map<string, FileEvent[]> {
  const byRobot = new Map<string, FileEvent[]>();
  for (const line of csv.split('\n')) {
    if (line === '') continue;
    const [x, y, timestamp, robot] = line.split(',');
    const list = byRobot.get(robot!) ?? [];
    list.push({ x: Number(x), y: Number(y), timestamp: Number(timestamp) });
    byRobot.set(robot!, list);
  }
  return byRobot;
}

function pathLength(events: FileEvent[]): number {
  let total = 0;
  for (let i = 1; i < events.length; i++) total += Math.hypot(events[i]!.x - events[i - 1]!.x, events[i]!.y - events[i - 1]!.y);
  return total;
}

const dir = makeTempDir('data-tools-');
afterAll(() => dir.remove());

describe('npm run generate', () => {
  it('writes the same bytes for the same seed, to a file or stdout, and other bytes for another seed', async () => {
    const a = join(dir.path, 'a.csv');
    const b = join(dir.path, 'b.csv');
    const c = join(dir.path, 'c.csv');
    const args = ['--robots', '7', '--events', '3000'];
    const runs = await Promise.all([
      runTool('generate', [...args, '--seed', '12', '--out', a]),
      runTool('generate', [...args, '--seed', '12', '--out', b]),
      runTool('generate', [...args, '--seed', '13', '--out', c]),
      runTool('generate', [...args, '--seed', '12', '--quiet']),
    ]);
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(runs[0]!.stderr).toMatch(/generated 3,000 events for 7 robots \(seed 12\) to .*a\.csv/);
    const bytes = readFileSync(a);
    expect(bytes.toString().split('\n')).toHaveLength(3001); // 3000 lines, each ending in '\n'
    expect(readFileSync(b).equals(bytes)).toBe(true);
    expect(readFileSync(c).equals(bytes)).toBe(false);
    expect(runs[3]!.stdout).toBe(bytes.toString());
    expect(runs[3]!.stderr).toBe('');
    expect(eventsByRobot(bytes.toString()).size).toBe(7);
  });

  it('refuses bad flags with exit code 2 and says which', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--robots', '0'], /--robots must be an integer from 1 to 1000000, got "0"/],
      [['--events', 'many'], /--events must be an integer/],
      [['--robots', '10', '--events', '5'], /--events \(5\) must be at least --robots \(10\)/],
      [['--colour'], /unknown flag --colour/],
      [['--seed'], /--seed needs a value/],
      [['--out', join(dir.path, 'no-such-dir', 'x.csv')], /cannot open --out: ENOENT/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runTool('generate', args)));
    runs.forEach((run, i) => {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
      expect(run.stdout).toBe('');
    });
  });
});

describe('npm run replay into the real service', () => {
  let service: TestService;
  let data: ReturnType<typeof makeTempDir>;
  let tracks: string;

  beforeAll(async () => {
    tracks = join(dir.path, 'tracks.csv');
    const generated = await runTool('generate', ['--robots', '12', '--events', '2400', '--seed', '99', '--out', tracks, '--quiet']);
    expect(generated.code, generated.stderr).toBe(0);
  });

  afterEach(async () => {
    await service?.close();
    data?.remove();
  });

  async function start(): Promise<string> {
    data = makeTempDir();
    service = await startTestService({ TELEMETRY_DATA_DIR: data.path });
    return `ws://127.0.0.1:${service.ingestPort}/upstream`;
  }

  it('stores exactly the file: every event served back, odometers as recomputed; a second replay is all DUP', async () => {
    const url = await start();
    const first = await runTool('replay', [tracks, '--url', url, '--json', '--batch', '50']);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ events_sent: 2400, frames_sent: 48, ok: 2400, dup: 0, stale: 0, err: 0, errors: [], unanswered: 0, failure: null, exit_code: 0 });

    await service.whenProjected();
    const expected = eventsByRobot(readFileSync(tracks, 'utf8'));
    const robots = await getJson(`${service.http}/api/robots`);
    expect(robots.body.map((r: { name: string }) => r.name).sort()).toEqual([...expected.keys()].sort());
    for (const robot of robots.body) {
      const events = expected.get(robot.name)!;
      expect(robot.event_count).toBe(events.length);
      expect(robot.first_timestamp).toBe(events[0]!.timestamp);
      expect(robot.last_timestamp).toBe(events.at(-1)!.timestamp);
      expect(robot.odometer).toBeCloseTo(pathLength(events), 6);
      expect(robot.odometer).toBeGreaterThan(0);
    }
    // One robot in full, through a percent-encoded name (the fleet's names include spaces and æ).
    const [name, events] = [...expected].find(([robot]) => robot.includes(' '))!;
    const served = await getJson(`${service.http}/api/robots/${encodeURIComponent(name)}/events`);
    expect(served.body).toEqual(events.map((e) => ({ robot: name, ...e })));
    const middle = events[Math.floor(events.length / 2)]!.timestamp;
    const odometer = await getJson(`${service.http}/api/robots/${encodeURIComponent(name)}/odometer?start_time=${middle}`);
    expect(odometer.body.odometer).toBeCloseTo(pathLength(events.filter((e) => e.timestamp >= middle)), 6);

    const again = await runTool('replay', [tracks, '--url', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/2,400 events in 24 frames/);
    expect(again.stdout).toMatch(/^ {2}OK +0$/m);
    expect(again.stdout).toMatch(/^ {2}DUP +2,400$/m);
    expect(again.stdout).toMatch(/^ {2}ERR +0$/m);
    expect((await getJson(`${service.http}/api/robots`)).body).toEqual(robots.body);
  });

  it('replays a CSV export of the service as it is: header skipped, every event DUP in the service it came from', async () => {
    const url = await start();
    const first = await runTool('replay', [tracks, '--url', url, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    await service.whenProjected();
    const [name, events] = [...eventsByRobot(readFileSync(tracks, 'utf8'))][0]!;
    const response = await fetch(`${service.http}/api/robots/${encodeURIComponent(name)}/events?format=csv`);
    expect(response.status).toBe(200);
    const exported = join(dir.path, 'export.csv');
    writeFileSync(exported, await response.text());
    const again = await runTool('replay', [exported, '--url', url, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ events_sent: events.length, ok: 0, dup: events.length, err: 0 });
  });

  it('reports a bad line by reason and line number, skips blank lines, exits 1, and stores the good lines', async () => {
    const url = await start();
    const file = join(dir.path, 'bad.csv');
    writeFileSync(file, ['1,1,10,Bender', '', '2,1,11,Bender', 'one,1,12,Bender', '3,1,12,Bender', '2,2,11,Bender', '\r', '4,1,13,Bender'].join('\n'));
    const run = await runTool('replay', [file, '--url', url, '--batch', '2']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^ {2}OK +4$/m);
    expect(run.stdout).toMatch(/^ {2}STALE +1$/m);
    expect(run.stdout).toMatch(/^ {2}ERR +1$/m);
    expect(run.stdout).toMatch(/^ +1 {2}x must be a finite decimal number {2}\(first at line 4\)$/m);
    expect(run.stdout).toMatch(/blank lines skipped: 2/);
    await service.whenProjected();
    const robot = await getJson(`${service.http}/api/robots/Bender`);
    expect(robot.body).toMatchObject({ event_count: 4, odometer: 3, first_timestamp: 10, last_timestamp: 13 });
  });

  it('holds to --rate: the bucket lets at most one frame go before the clock allows', async () => {
    const url = await start();
    const file = join(dir.path, 'rate.csv');
    writeFileSync(file, readFileSync(tracks, 'utf8').split('\n').slice(0, 400).join('\n'));
    // 400 events at 500/s, in frames of 50 (the rate caps frames at rate/10): the first frame goes
    // at once, the other 350 events need 0.7 s at least. Only the lower bound is asserted: a busy
    // machine may be slower, never faster. The pacing arithmetic itself is unit-tested.
    const run = await runTool('replay', [file, '--url', url, '--rate', '500', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.ok).toBe(400);
    expect(summary.frames_sent).toBe(400 / 50);
    expect(summary.seconds).toBeGreaterThanOrEqual((400 - 50) / 500);
  });
});

describe('npm run replay into a service with tokens', () => {
  it('is refused without a token (401, with the hint), writes with a fleet token, and reports a scope refusal per event', async () => {
    const data = makeTempDir();
    const file = join(data.path, 'tokens.json');
    const [fleet, prefix] = writeTokens(file, [{ type: 'fleet' }, { type: 'prefix', prefix: 'Atlas-' }]).map((t) => t.token);
    const service = await startTestService({ TELEMETRY_DATA_DIR: data.path, TELEMETRY_TOKENS_FILE: file });
    try {
      const tracks = join(data.path, 'tracks.csv');
      expect((await runTool('generate', ['--robots', '8', '--events', '80', '--out', tracks, '--quiet'])).code).toBe(0);
      const url = `ws://127.0.0.1:${service.ingestPort}/upstream`;

      const refused = await runTool('replay', [tracks, '--url', url]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/failed: ws:.* refused the connection: HTTP 401 TELEMETRY_UNAUTHORIZED: .+ \(pass --token or set TELEMETRY_TOKEN\)$/m);

      // Only the Atlas robots (one in eight) are this token's to write; the rest are refused per event.
      const atlas = readFileSync(tracks, 'utf8').split('\n').filter((line) => line.split(',')[3]?.startsWith('Atlas-')).length;
      expect(atlas).toBeGreaterThan(0);
      const scoped = await runTool('replay', [tracks, '--url', url, '--json'], { TELEMETRY_TOKEN: prefix! });
      expect(scoped.code).toBe(1);
      expect(JSON.parse(scoped.stdout)).toMatchObject({ ok: atlas, err: 80 - atlas, errors: [{ reason: 'forbidden robot', count: 80 - atlas }] });

      const written = await runTool('replay', [tracks, '--url', url, '--token', fleet!, '--json']);
      expect(written.code, written.stdout).toBe(0);
      expect(JSON.parse(written.stdout)).toMatchObject({ ok: 80 - atlas, dup: atlas, err: 0 });
    } finally {
      await service.close();
      data.remove();
    }
  });
});

describe('npm run replay when things go wrong', () => {
  let file: string;
  beforeAll(() => {
    file = join(dir.path, 'small.csv');
    writeFileSync(file, Array.from({ length: 30 }, (_, i) => `${i},0,${i},Robo ${i % 3}`).join('\n') + '\n');
  });

  /** A port nothing listens on: bound, then released. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    return port;
  }

  /**
   * A WebSocket endpoint that records the upgrade headers and answers `OK` per line, hanging up
   * (code 1011) on frame `hangUpAt` instead: the real service cannot be made to do either on demand.
   */
  async function recordingServer(hangUpAt = Infinity, onFrame: (n: number) => void = () => undefined) {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const headers: IncomingHttpHeaders[] = [];
    let frames = 0;
    wss.on('connection', (socket, request) => {
      headers.push(request.headers);
      socket.on('message', (data) => {
        onFrame(++frames);
        if (frames === hangUpAt) socket.close(1011, 'disk on fire');
        else socket.send(String(data).split('\n').map(() => 'OK').join('\n'));
      });
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/upstream`;
    return { url, headers, close: () => new Promise<void>((resolve) => wss.close(() => resolve())) };
  }

  it('says the connection was refused and exits 1', async () => {
    const port = await closedPort();
    const run = await runTool('replay', [file, '--url', `ws://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`failed: cannot connect to ws://127\\.0\\.0\\.1:${port}/upstream: connection refused`));
  });

  it('sends the bearer token from --token or TELEMETRY_TOKEN, and none without', async () => {
    const server = await recordingServer();
    try {
      const runs = [
        await runTool('replay', [file, '--url', server.url, '--token', 'tlm_flag_secret']),
        await runTool('replay', [file, '--url', server.url], { TELEMETRY_TOKEN: 'tlm_env_secret' }),
        await runTool('replay', [file, '--url', server.url]),
      ];
      for (const run of runs) expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(server.headers.map((h) => h.authorization)).toEqual(['Bearer tlm_flag_secret', 'Bearer tlm_env_secret', undefined]);
    } finally {
      await server.close();
    }
  });

  it('reports a server that hangs up mid-replay, with the events left unanswered, and exits 1', async () => {
    const server = await recordingServer(2);
    try {
      const run = await runTool('replay', [file, '--url', server.url, '--batch', '10', '--inflight', '1', '--json']);
      expect(run.code).toBe(1);
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ ok: 10, frames_sent: 2, unanswered: 10, exit_code: 1 });
      expect(summary.failure).toBe('the server closed the connection (code 1011 server error: disk on fire)');
      expect(run.stderr).toMatch(/replay: the server closed the connection/);
    } finally {
      await server.close();
    }
  });

  it('stops sending on Ctrl-C, still counts the replies to frames already sent, and exits 130', async () => {
    let child: ChildProcess | undefined;
    // Interrupted on the third frame's arrival, while the pacing (10 events/s, one per frame) holds the rest.
    const server = await recordingServer(Infinity, (n) => n === 3 && child!.kill('SIGINT'));
    try {
      const run = await runTool('replay', [file, '--url', server.url, '--rate', '10', '--json'], {}, (c) => (child = c));
      expect(run.code).toBe(130);
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ interrupted: true, unanswered: 0, failure: null, exit_code: 130 });
      expect(summary.frames_sent).toBeGreaterThanOrEqual(3);
      expect(summary.frames_sent).toBeLessThan(30);
      expect(summary.ok).toBe(summary.events_sent);
      expect(run.stderr).toMatch(/interrupted, waiting for the replies to frames already sent/);
    } finally {
      await server.close();
    }
  });

  it('refuses bad flags and unreadable files with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /which FILE to replay/],
      [[join(dir.path, 'missing.csv')], /cannot read .*missing\.csv: no such file/],
      [[dir.path], /is not a file/],
      [[file, '--rate', 'fast'], /--rate must be a positive number, got "fast"/],
      [[file, '--rate', '0'], /--rate must be a positive number/],
      [[file, '--batch', '0'], /--batch must be an integer from 1/],
      [[file, '--url', 'http://127.0.0.1:8000'], /--url must be a ws:\/\/ or wss:\/\/ URL/],
      [[file, file], /one FILE only/],
    ];
    const runs = await Promise.all(cases.map(([args]) => runTool('replay', args)));
    runs.forEach((run, i) => {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(cases[i]![1]);
    });
  });
});
