// Read-side benchmark on the embedded log: full rebuild rate with 1 and 2 worker threads, time to
// ready after a restart with a current checkpoint, projection memory per event, and the cost of a
// range odometer on a robot with 1,000,000 events beside one with 10.
//
// Run compiled, so worker threads start as plain JavaScript:
//   npm run build && node dist/bench/projections.js [--robots 1000] [--events 1000] [--chunk 1]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { rebuildProjections } from '../src/projections/rebuild.js';
import { RobotProjection } from '../src/projections/robot-projection.js';
import { SqliteEventLog } from '../src/store/sqlite/sqlite-event-log.js';
import { seedLog } from './lib/seed-log.js';
import { startServiceProcess } from './lib/service-process.js';

export interface ProjectionBenchOptions {
  readonly robots: number;
  readonly events: number;
  readonly chunk: number;
  readonly queryEvents: number;
  readonly log: (line: string) => void;
}

export interface ProjectionBenchResult {
  readonly events: number;
  readonly rebuild: { workers1: { events_per_s: number; seconds: number }; workers2: { events_per_s: number; seconds: number } };
  readonly restart: { ready_ms: number };
  readonly memory: { bytes_per_event: number };
  readonly query: { odometer_ns_small: number; odometer_ns_large: number; ratio_large_to_small: number };
}

const silent = pino({ level: 'silent' });

export async function runProjectionBench(options: ProjectionBenchOptions): Promise<ProjectionBenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'telemetry-bench-projections-'));
  try {
    options.log(`seeding ${options.robots} robots × ${options.events} events, ${options.chunk} per commit…`);
    let lastShown = 0;
    const { events } = await seedLog({
      dataDir,
      robots: options.robots,
      events: options.events,
      chunk: options.chunk,
      onProgress: (written, total) => {
        if (written - lastShown >= total / 10 || written === total) {
          lastShown = written;
          options.log(`  ${Math.round((100 * written) / total)} % (${written} events)`);
        }
      },
    });

    const rebuild = async (threads: number) => {
      const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
      try {
        const started = performance.now();
        const projections = await rebuildProjections({ log, spec: { kind: 'sqlite', dataDir }, logger: silent, threads });
        const seconds = (performance.now() - started) / 1000;
        if (projections.eventCount !== events) throw new Error(`rebuild saw ${projections.eventCount} of ${events} events`);
        let bytes = 0;
        for (const robot of projections.allRobots()) bytes += robot.byteSize;
        return { seconds, eventsPerSecond: Math.round(events / seconds), bytesPerEvent: bytes / events };
      } finally {
        await log.close();
      }
    };
    options.log('rebuilding with 1 worker…');
    const one = await rebuild(1);
    options.log('rebuilding with 2 workers…');
    const two = await rebuild(2);

    options.log('restarting the service with a checkpoint…');
    await runService(dataDir); // first start: rebuilds, checkpoints at shutdown
    const readyMs = await runService(dataDir); // measured: loads the checkpoint

    options.log(`timing odometer queries on ${options.queryEvents} events vs 10…`);
    const query = timeQueries(options.queryEvents);

    return {
      events,
      rebuild: {
        workers1: { events_per_s: one.eventsPerSecond, seconds: round(one.seconds) },
        workers2: { events_per_s: two.eventsPerSecond, seconds: round(two.seconds) },
      },
      restart: { ready_ms: Math.round(readyMs) },
      memory: { bytes_per_event: round(two.bytesPerEvent) },
      query,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Starts the compiled service on `dataDir`, waits for /healthz 200, stops it; returns ms to ready. */
async function runService(dataDir: string): Promise<number> {
  const service = await startServiceProcess({ TELEMETRY_DATA_DIR: dataDir });
  await service.stop();
  return service.readyMs;
}

/** Nanoseconds per odometer query on a robot with `large` events and on one with 10. */
function timeQueries(large: number): ProjectionBenchResult['query'] {
  const build = (n: number) => {
    const robot = new RobotProjection(`q${n}`, n);
    const block = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      block[i * 3] = Math.cos(i);
      block[i * 3 + 1] = Math.sin(i);
      block[i * 3 + 2] = i * 10;
    }
    robot.apply(0, block);
    return robot;
  };
  const time = (robot: RobotProjection, span: number) => {
    const runs = 200_000;
    let sink = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) {
      const start = ((i * 7919) % span) * 10;
      sink += robot.odometer(start, start + span * 5);
    }
    const ns = Number(process.hrtime.bigint() - started) / runs;
    if (sink < 0) throw new Error('unreachable');
    return ns;
  };
  const small = build(10);
  const big = build(large);
  time(small, 10); // warm up the JIT on both shapes first
  time(big, large);
  const smallNs = time(small, 10);
  const largeNs = time(big, large);
  return { odometer_ns_small: round(smallNs), odometer_ns_large: round(largeNs), ratio_large_to_small: round(largeNs / smallNs) };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      robots: { type: 'string', default: '1000' },
      events: { type: 'string', default: '1000' },
      chunk: { type: 'string', default: '1' },
      'query-events': { type: 'string', default: '1000000' },
    },
  });
  const result = await runProjectionBench({
    robots: Number(values.robots),
    events: Number(values.events),
    chunk: Number(values.chunk),
    queryEvents: Number(values['query-events']),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
