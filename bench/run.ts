// `npm run bench`: ingest, REST reads and rebuild, each beside its limit and a peer measured in the
// same run. Prints a table and writes bench/results/latest.json. `--quick` runs smaller sizes and
// shorter loads (about a minute on a 2-core machine). Run compiled (the npm script builds first).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runIngestBench } from './ingest.js';
import { runProjectionBench } from './projections.js';
import { runReadBench } from './reads.js';
import { ROOT } from './lib/service-process.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
const quick = values.quick ?? false;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const started = performance.now();

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
};
log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${quick ? 'quick' : 'full'} run`);

const ingest = await runIngestBench({ seconds: quick ? 2 : 10, warmupSeconds: quick ? 1 : 2, robots: 1000, connections: 8, threads: 1, log });
const rest = await runReadBench({ events: quick ? 200_000 : 1_000_000, seconds: quick ? 2 : 5, connections: 32, log });
const projections = await runProjectionBench({
  robots: 1000,
  events: quick ? 200 : 1000,
  chunk: 1,
  queryEvents: quick ? 200_000 : 1_000_000,
  log,
});

const result = {
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  machine,
  ingest,
  rest: {
    large_robot_events: rest.large_robot_events,
    odometer: rest.odometer,
    events: rest.events,
    ceiling: rest.ceiling,
    ratio_to_ceiling: rest.ratio_to_ceiling,
  },
  rebuild: { ...projections.rebuild, events: projections.events },
  restart: projections.restart,
  memory: projections.memory,
  query: projections.query,
  seconds: Math.round((performance.now() - started) / 1000),
};

const out = values.out ?? join(ROOT, 'bench/results/latest.json');
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);

const rows: Array<[string, string, string]> = [
  ['ingest, 100-event frames', `${fmt(ingest.batch100.events_per_s)} events/s`, `limit ${fmt(ingest.limit_events_per_s)} (×${ingest.ratio_to_limit}); ws peer ${fmt(ingest.peer_ws_events_per_s)} (×${ingest.ratio_to_peer_ws}); one commit per event ${fmt(ingest.seed_style_events_per_s)} (×${ingest.ratio_to_seed_style})`],
  ['ingest, 1-event frames', `${fmt(ingest.batch1.events_per_s)} events/s`, `ws peer ${fmt(ingest.peer_ws_batch1_events_per_s)} (×${ingest.ratio_to_peer_ws_batch1})`],
  ['ack latency at 50 %, 100-event frames', `p50 ${ingest.batch100.ack_p50_ms} ms, p99 ${ingest.batch100.ack_p99_ms} ms`, ''],
  ['ack latency at 50 %, 1-event frames', `p50 ${ingest.batch1.ack_p50_ms} ms, p99 ${ingest.batch1.ack_p99_ms} ms`, ''],
  [`odometer, ${fmt(rest.large_robot_events)} events`, `${fmt(rest.odometer.large.req_per_s)} req/s, p99 ${rest.odometer.large.p99_ms} ms`, `10 events ${fmt(rest.odometer.small.req_per_s)}; ceiling ${fmt(rest.ceiling.req_per_s)} (×${rest.ratio_to_ceiling})`],
  [`events page of 10, ${fmt(rest.large_robot_events)} events`, `${fmt(rest.events.large.req_per_s)} req/s, p99 ${rest.events.large.p99_ms} ms`, `10 events ${fmt(rest.events.small.req_per_s)}`],
  ['rebuild, 2 workers', `${fmt(projections.rebuild.workers2.events_per_s)} events/s`, `1 worker ${fmt(projections.rebuild.workers1.events_per_s)}`],
  ['ready after restart (checkpoint)', `${projections.restart.ready_ms} ms`, `${fmt(projections.events)} events`],
  ['projection memory', `${projections.memory.bytes_per_event} bytes/event`, ''],
];
process.stdout.write(`\n| measure | ours | beside it |\n| --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n\n`);
process.stdout.write(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; written to ${out} in ${result.seconds} s\n`);

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
