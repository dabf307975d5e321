// A WebSocket load generator for the ingest endpoint: N connections, R robots, frames of F events,
// a bounded number of frames in flight per connection, for a bounded time. Reports acknowledged
// events per second and replies by outcome. Loopback only.
//
//   npx tsx bench/ingest-load.ts --port 8000 [--connections 8] [--robots 1000] [--frame 100]
//                               [--inflight 16] [--seconds 10]

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

export interface LoadOptions {
  readonly port: number;
  readonly connections: number;
  readonly robots: number;
  readonly frame: number;
  readonly inflight: number;
  readonly seconds: number;
  /** Distinguishes runs against one data dir: robot names carry it, so timestamps start afresh. */
  readonly runId: string;
}

export interface LoadResult {
  readonly seconds: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly outcomes: Record<string, number>;
}

/** Robot r's k-th event: a walk on a 100 × 100 grid, one millisecond apart. */
function eventLine(runId: string, robot: number, k: number): string {
  return `${(k * 7 + robot) % 100},${(k * 3 + robot) % 100},${k},bench-${runId}-${robot}`;
}

export async function runIngestLoad(options: LoadOptions): Promise<LoadResult> {
  const { port, connections, robots, frame, inflight, seconds, runId } = options;
  const next = new Array<number>(robots).fill(0);
  const outcomes: Record<string, number> = {};
  let events = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;

  // Connection c writes robots c, c + connections, …: each robot has one writer, so its own
  // events arrive in order and are all accepted.
  const makeFrame = (c: number, cursor: { robot: number }): string => {
    const owned = Math.ceil((robots - c) / connections);
    const lines: string[] = [];
    for (let i = 0; i < frame; i++) {
      const robot = c + connections * (cursor.robot++ % owned);
      lines.push(eventLine(runId, robot, next[robot]!++));
    }
    return lines.join('\n');
  };

  await Promise.all(
    Array.from({ length: Math.min(connections, robots) }, (_, c) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/upstream`);
        const cursor = { robot: 0 };
        let outstanding = 0;
        ws.on('error', reject);
        ws.on('open', () => {
          for (; outstanding < inflight; outstanding++) ws.send(makeFrame(c, cursor));
        });
        ws.on('message', (data) => {
          outstanding--;
          for (const status of String(data).split('\n')) {
            outcomes[status] = (outcomes[status] ?? 0) + 1;
            events++;
          }
          if (performance.now() < deadline) {
            ws.send(makeFrame(c, cursor));
            outstanding++;
          } else if (outstanding === 0) {
            ws.close();
            resolve();
          }
        });
      }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { seconds: elapsed, events, eventsPerSecond: Math.round(events / elapsed), outcomes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8000' },
      connections: { type: 'string', default: '8' },
      robots: { type: 'string', default: '1000' },
      frame: { type: 'string', default: '100' },
      inflight: { type: 'string', default: '16' },
      seconds: { type: 'string', default: '10' },
    },
  });
  const result = await runIngestLoad({
    port: Number(values.port),
    connections: Number(values.connections),
    robots: Number(values.robots),
    frame: Number(values.frame),
    inflight: Number(values.inflight),
    seconds: Number(values.seconds),
    runId: Date.now().toString(36),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
