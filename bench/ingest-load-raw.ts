// The ingest load generator on raw sockets (bench/lib/ws-load): pre-built masked frames, worker
// threads, HDR latency percentiles, closed or open loop. Prints the report as JSON; progress goes
// to stderr. Loopback only, bounded in time.
//
//   npx tsx bench/ingest-load-raw.ts --port 8000 [--connections 8] [--robots 1000] [--frame 100]
//                                    [--seconds 10] [--warmup 0] [--threads 1] [--rate N] [--inflight 8] [--run-id ID]
//                                    [--token T]   (or TELEMETRY_TOKEN: sent as Authorization: Bearer on each upgrade)

import { parseArgs } from 'node:util';
import { runWsLoad } from './lib/ws-load/index.js';

function number(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    process.stderr.write(`--${name} must be a number, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8000' },
    host: { type: 'string', default: '127.0.0.1' },
    connections: { type: 'string', default: '8' },
    robots: { type: 'string', default: '1000' },
    frame: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '0' },
    token: { type: 'string' },
    threads: { type: 'string', default: '1' },
    rate: { type: 'string' },
    inflight: { type: 'string', default: '8' },
    'run-id': { type: 'string' },
  },
});

try {
  const report = await runWsLoad({
    port: number('port', values.port)!,
    host: values.host,
    connections: number('connections', values.connections)!,
    robots: number('robots', values.robots)!,
    eventsPerFrame: number('frame', values.frame)!,
    seconds: number('seconds', values.seconds)!,
    warmupSeconds: number('warmup', values.warmup),
    threads: number('threads', values.threads)!,
    rate: number('rate', values.rate),
    inflight: number('inflight', values.inflight)!,
    ...(values['run-id'] === undefined ? {} : { runId: values['run-id'] }),
    ...((values.token ?? process.env.TELEMETRY_TOKEN) === undefined ? {} : { token: values.token ?? process.env.TELEMETRY_TOKEN }),
    onProgress: ({ elapsedSeconds, events, framesSent }) =>
      process.stderr.write(`${elapsedSeconds.toFixed(1)} s: ${events} statuses, ${framesSent} frames sent\n`),
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
