// Property test over the real service: a random fleet streams events (with resends, stale and
// malformed lines) over several connections. Every acknowledged event must be served back exactly
// once, and odometers over random ranges must equal a naive recomputation — before and after a
// restart, which rebuilds the projections from the log in worker threads.

import { describe, expect, it } from 'vitest';
import { IngestClient } from '../support/ingest-client.js';
import { getJson, type TestService } from '../support/in-process-service.js';
import { serviceOnStore } from '../support/service-on-store.js';
import { mulberry32 } from '../../bench/lib/random.js';
import { storeVariants } from '../support/store-variants.js';

interface Stored {
  x: number;
  y: number;
  timestamp: number;
}

function naiveOdometer(events: Stored[], start: number, end: number): number {
  const inside = events.filter((e) => e.timestamp >= start && e.timestamp <= end);
  let total = 0;
  for (let i = 1; i < inside.length; i++) {
    total += Math.hypot(inside[i]!.x - inside[i - 1]!.x, inside[i]!.y - inside[i - 1]!.y);
  }
  return total;
}

describe.each(storeVariants())('a random fleet on the $name log', (variant) => {
  const fixture = serviceOnStore(variant);

  it('serves every acknowledged event exactly once and exact odometers, before and after a restart', async () => {
    const seed = Number(process.env.FLEET_SEED ?? 20261127);
    const random = mulberry32(seed);
    const robots = Array.from({ length: 24 }, (_, i) => (i % 5 === 0 ? `Unit ${i} é` : `robot-${i}`));
    const clock = new Map(robots.map((r) => [r, Math.floor(random() * 1000)]));
    const position = new Map(robots.map((r) => [r, [random() * 100 - 50, random() * 100 - 50] as [number, number]]));
    const sentHistory = new Map<string, string[]>(robots.map((r) => [r, []]));

    const service = await fixture.restart();
    const clients = await Promise.all([0, 1, 2].map(() => IngestClient.connect(service.ingestPort)));
    const acknowledged = new Map<string, Stored[]>(robots.map((r) => [r, []]));
    const duplicates: Array<[string, Stored]> = [];
    const stale: Array<[string, Stored]> = [];
    const parse = (line: string): [string, Stored] => {
      const [x, y, t, name] = line.split(',');
      return [name!, { x: Number(x), y: Number(y), timestamp: Number(t) }];
    };

    // Each robot writes through one connection, so its own arrival order is known; robots share
    // connections and frames interleave robots.
    const pending: Array<Promise<void>> = [];
    for (let frameNo = 0; frameNo < 240; frameNo++) {
      const lines: string[] = [];
      const size = 1 + Math.floor(random() * 40);
      const c = frameNo % clients.length;
      for (let k = 0; k < size; k++) {
        const candidates = robots.filter((_, i) => i % clients.length === c);
        const robot = candidates[Math.floor(random() * candidates.length)]!;
        const roll = random();
        const history = sentHistory.get(robot)!;
        if (roll < 0.08 && history.length > 0) {
          lines.push(history[Math.floor(random() * history.length)]!); // a resend
        } else if (roll < 0.12) {
          lines.push(`${random()},${random()},${clock.get(robot)! - Math.floor(random() * 5)},${robot}`); // stale or equal
        } else if (roll < 0.14) {
          lines.push(`not,an,event`);
        } else {
          const [x, y] = position.get(robot)!;
          const next: [number, number] = [x + (random() - 0.5) * 3, y + (random() - 0.5) * 3];
          position.set(robot, next);
          const t = clock.get(robot)! + 1 + Math.floor(random() * 3);
          clock.set(robot, t);
          const line = `${next[0]},${next[1]},${t},${robot}`;
          history.push(line);
          lines.push(line);
        }
      }
      pending.push(
        clients[c]!.sendEvents(lines).then((statuses) => {
          expect(statuses).toHaveLength(lines.length);
          statuses.forEach((status, i) => {
            const line = lines[i]!;
            if (line === 'not,an,event') {
              expect(status).toBe('ERR expected 4 comma-separated fields: x,y,timestamp,robot_name');
              return;
            }
            expect(['OK', 'DUP', 'STALE']).toContain(status);
            const [robot, event] = parse(line);
            if (status === 'OK') acknowledged.get(robot)!.push(event);
            if (status === 'DUP') duplicates.push([robot, event]);
            if (status === 'STALE') stale.push([robot, event]);
          });
        }),
      );
    }
    await Promise.all(pending);
    await Promise.all(clients.map((client) => client.close()));

    // The model: a robot's acknowledged events, in time order, each once.
    for (const events of acknowledged.values()) events.sort((a, b) => a.timestamp - b.timestamp);
    const isStored = ([robot, e]: [string, Stored]) =>
      acknowledged.get(robot)!.some((s) => s.timestamp === e.timestamp && s.x === e.x && s.y === e.y);
    expect(duplicates.length).toBeGreaterThan(0);
    expect(stale.length).toBeGreaterThan(0);
    for (const dup of duplicates) expect(isStored(dup)).toBe(true);
    for (const dropped of stale) expect(isStored(dropped)).toBe(false);

    const verify = async (svc: TestService) => {
      await svc.whenProjected();
      const list = (await getJson(`${svc.http}/api/robots`)).body as Array<{ name: string; event_count: number; odometer: number }>;
      const withEvents = robots.filter((r) => acknowledged.get(r)!.length > 0).sort();
      expect(list.map((r) => r.name)).toEqual(withEvents);
      for (const robot of withEvents) {
        const expected = acknowledged.get(robot)!;
        const served = (await getJson(`${svc.http}/api/robots/${encodeURIComponent(robot)}/events`)).body as Array<Stored & { robot: string }>;
        expect(served).toEqual(expected.map((e) => ({ robot, ...e })));
        for (let q = 0; q < 15; q++) {
          const a = Math.floor(random() * (clock.get(robot)! + 10));
          const b = Math.floor(random() * (clock.get(robot)! + 10));
          const odometer = (await getJson(`${svc.http}/api/robots/${encodeURIComponent(robot)}/odometer?start_time=${a}&end_time=${b}`)).body.odometer;
          const naive = naiveOdometer(expected, Math.min(a, b), Math.max(a, b));
          expect(Math.abs(odometer - naive)).toBeLessThanOrEqual(1e-9 * Math.max(1, naive));
        }
      }
    };

    await verify(service);
    await verify(await fixture.restart());
  });
});
