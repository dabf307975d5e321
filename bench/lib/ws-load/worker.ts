// A load thread: builds its connections' frames, opens them, reports ready, runs on 'start' for the
// given seconds, drains (bounded), closes cleanly and posts its counts and latency histogram.

import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { LoadConnection, type Pacing, type RunStats } from './connection.js';
import { FramePool } from './frame-pool.js';
import { openWebSocket, type OpenSocket } from './handshake.js';
import { encodeHistogram, newLatencyHistogram } from './latency.js';
import type { StartMessage, WorkerMessage, WorkerPlan } from './protocol.js';
import { StatusCounter, allOkReply } from './statuses.js';

const port = parentPort!;
const post = (message: WorkerMessage): void => port.postMessage(message);

async function openAll(plan: WorkerPlan): Promise<OpenSocket[]> {
  const opened = await Promise.allSettled(plan.connections.map(() => openWebSocket(plan.host, plan.port, plan.path, plan.handshakeMs, plan.token)));
  const failure = opened.find((o) => o.status === 'rejected');
  if (failure !== undefined) {
    for (const o of opened) if (o.status === 'fulfilled') o.value.socket.destroy();
    throw failure.reason;
  }
  return opened.map((o) => (o as PromiseFulfilledResult<OpenSocket>).value);
}

async function run(plan: WorkerPlan): Promise<void> {
  const stats: RunStats = {
    framesSent: 0,
    framesAnswered: 0,
    events: 0,
    eventsInWindow: 0,
    statuses: new StatusCounter(allOkReply(plan.eventsPerFrame)),
    latency: newLatencyHistogram(),
    errors: [],
  };
  const pools = plan.connections.map(
    (connection) => new FramePool({ runId: plan.runId, connection, connections: plan.totalConnections, robots: plan.robots, eventsPerFrame: plan.eventsPerFrame }),
  );
  const sockets = await openAll(plan);
  const connections = sockets.map((socket, i) => {
    const pool = pools[i]!;
    const pacing: Pacing =
      plan.pacing.kind === 'closed'
        ? plan.pacing
        : {
            kind: 'open',
            framesPerSecond: plan.pacing.eventsPerSecondPerConnection / (pool.eventsPerCycle / pool.slots),
            phase: plan.connections[i]! / plan.totalConnections,
          };
    return new LoadConnection(socket, pool, stats, pacing);
  });

  const startMessage = new Promise<StartMessage>((resolve) => port.once('message', resolve));
  post({ type: 'ready' });
  const { seconds, warmupSeconds } = await startMessage;

  const start = performance.now();
  const measureFrom = start + warmupSeconds * 1000;
  const windowEnd = measureFrom + seconds * 1000;
  for (const connection of connections) connection.start(start, measureFrom, windowEnd);
  // Open loop: wake when the earliest frame falls due (timers have 1 ms granularity; replies
  // arriving in between also send what is due).
  let ticker: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    let next = Infinity;
    for (const connection of connections) {
      connection.cork();
      connection.pump(now);
      connection.uncork();
      next = Math.min(next, connection.nextDueTime);
    }
    if (next !== Infinity) ticker = setTimeout(tick, Math.max(0, Math.floor(next - performance.now())));
  };
  if (plan.pacing.kind === 'open') tick();
  const progress = setInterval(() => post({ type: 'progress', events: stats.events, framesSent: stats.framesSent }), plan.progressMs);
  await sleep(Math.max(0, windowEnd - performance.now()));
  clearTimeout(ticker);

  const drained = Promise.all(connections.map((c) => c.stopSending()));
  const drainTimer = new AbortController();
  await Promise.race([drained, sleep(plan.drainMs, undefined, { signal: drainTimer.signal }).catch(() => undefined)]);
  drainTimer.abort();
  const lost = connections.reduce((n, c) => n + (c.isClosed ? c.outstanding : 0), 0);
  const late = connections.reduce((n, c) => n + (c.isClosed ? 0 : c.outstanding), 0);
  if (lost > 0) stats.errors.push(`${lost} frames never answered: their connection closed`);
  if (late > 0) stats.errors.push(`${late} frames unanswered ${plan.drainMs} ms after sending stopped`);
  await Promise.all(connections.map((c) => c.close(plan.closeMs)));
  clearInterval(progress);

  const counts = stats.statuses.counts;
  post({
    type: 'done',
    result: {
      framesSent: stats.framesSent,
      framesAnswered: stats.framesAnswered,
      events: stats.events,
      eventsInWindow: stats.eventsInWindow,
      statuses: { ok: counts.ok, dup: counts.dup, stale: counts.stale, other: [...counts.other] },
      histogram: encodeHistogram(stats.latency),
      errors: stats.errors,
    },
  });
}

run(workerData as WorkerPlan).catch((error: unknown) => post({ type: 'failed', message: (error as Error).message ?? String(error) }));
