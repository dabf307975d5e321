// Two service instances on one log, receiving the same robots' events interleaved. The log's
// expected-revision checks must keep every robot's stream exact: no event stored twice, none out of
// order, every acknowledged event present; conflicts are resolved by reload-and-retry and logged.

import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient } from '../support/ingest-client.js';
import { getJson } from '../support/in-process-service.js';
import { spawnService, type SpawnedService } from '../support/spawned-service.js';
import { storeVariants, type StoreVariant } from '../support/store-variants.js';

const services: SpawnedService[] = [];
let variantCleanup: (() => Promise<void>) | undefined;

afterEach(async () => {
  for (const service of services.splice(0)) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  await variantCleanup?.();
  variantCleanup = undefined;
});

async function startTwo(variant: StoreVariant) {
  const store = await variant.setup();
  variantCleanup = store.cleanup;
  const pair = [0, 1].map(() => {
    const service = spawnService({ ...store.env, TELEMETRY_LOG_LEVEL: 'info' });
    services.push(service);
    return service;
  });
  const ports = await Promise.all(pair.map((s) => s.listening));
  await Promise.all(pair.map((s) => s.ready));
  return { pair, ports };
}

interface Sent {
  robot: string;
  x: number;
  y: number;
  t: number;
}

describe.each(storeVariants())('two instances on one $name log', (variant) => {
  it('keeps every stream exact under interleaved writes to the same robots', async () => {
    const { pair, ports } = await startTwo(variant);
    const clients = await Promise.all(ports.map((p) => IngestClient.connect(p.ingestPort)));
    const robots = Array.from({ length: 6 }, (_, i) => `shared-${i}`);
    const acknowledged: Sent[] = [];
    const duplicates: Sent[] = [];
    // Each robot's events alternate between the two instances, frame by frame, with frames
    // pipelined on both connections at once: the instances' actors keep racing for the same heads.
    const sends: Array<Promise<void>> = [];
    for (let round = 0; round < 60; round++) {
      for (let c = 0; c < 2; c++) {
        const events: Sent[] = robots.map((robot, r) => ({ robot, x: round, y: r + c, t: round * 10 + c * 5 + r }));
        const resend = round > 0 && round % 7 === 0 ? { robot: robots[0]!, x: round - 1, y: 0, t: (round - 1) * 10 } : null;
        const lines = events.map((e) => `${e.x},${e.y},${e.t},${e.robot}`);
        if (resend !== null) lines.push(`${resend.x},${resend.y},${resend.t},${resend.robot}`);
        sends.push(
          clients[c]!.sendEvents(lines).then((statuses) => {
            statuses.forEach((status, i) => {
              expect(['OK', 'DUP', 'STALE']).toContain(status);
              const sent = i < events.length ? events[i]! : resend!;
              if (status === 'OK') acknowledged.push(sent);
              if (status === 'DUP') duplicates.push(sent);
            });
          }),
        );
      }
    }
    await Promise.all(sends);
    await Promise.all(clients.map((client) => client.close()));

    // Both instances' projections follow the shared log; wait until each shows every acknowledged event.
    for (const { httpPort } of ports) {
      const http = `http://127.0.0.1:${httpPort}`;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const list = (await getJson(`${http}/api/robots`)).body as Array<{ event_count: number }>;
        if (list.reduce((n, r) => n + r.event_count, 0) >= acknowledged.length || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const robot of robots) {
        const stored = (await getJson(`${http}/api/robots/${robot}/events?limit=100000`)).body as Array<{ x: number; y: number; timestamp: number }>;
        const times = stored.map((e) => e.timestamp);
        expect(new Set(times).size).toBe(times.length);
        expect(times).toEqual([...times].sort((a, b) => a - b));
        const key = (e: { x: number; y: number; t: number }) => `${e.t}:${e.x}:${e.y}`;
        const storedKeys = new Set(stored.map((e) => key({ x: e.x, y: e.y, t: e.timestamp })));
        const mine = acknowledged.filter((e) => e.robot === robot);
        for (const e of mine) expect(storedKeys.has(key(e))).toBe(true);
        expect(stored).toHaveLength(mine.length);
        for (const e of duplicates.filter((d) => d.robot === robot)) expect(storedKeys.has(key(e))).toBe(true);
      }
    }
    const conflicts = pair.flatMap((s) => s.lines).filter((line) => /revision conflict/.test(String(line.msg)));
    expect(conflicts.length).toBeGreaterThan(0);
  });
});
