// The service as its own process: crash safety (kill -9), graceful shutdown (SIGTERM), and refusals
// to start (bad configuration, unusable data dir, uWebSockets.js running on its JS fallback).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient } from '../support/ingest-client.js';
import { getJson } from '../support/in-process-service.js';
import { useSpawnedServices } from '../support/spawned-service.js';
import { storedTimestamps, streamUntilStopped } from '../support/streaming.js';
import { storeVariants, type StoreFixture } from '../support/store-variants.js';
import { makeTempDir } from '../support/temp-dir.js';

const dirs: Array<ReturnType<typeof makeTempDir>> = [];
const fixtures: StoreFixture[] = [];

function tempDir(): string {
  const dir = makeTempDir();
  dirs.push(dir);
  return dir.path;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) dir.remove();
  for (const fixture of fixtures.splice(0)) await fixture.cleanup();
});

// After the hook above in the file, so it runs first: vitest runs after-hooks as a stack, and
// services must be gone before their dirs (or mounts) are.
const start = useSpawnedServices();

describe.each(storeVariants())('crash safety on the $name log', (variant) => {
  it('loses no acknowledged event on kill -9 during heavy ingest, and stores none twice', async () => {
    const store = await variant.setup();
    fixtures.push(store);
    // Checkpoints every 2,000 events: the kill lands between two of them, and the restart must
    // replay the log's tail after the last one.
    const first = start({ ...store.env, TELEMETRY_CHECKPOINT_EVENTS: '2000' });
    const { ingestPort } = await first.listening;
    await first.ready;
    const robots = Array.from({ length: 50 }, (_, i) => `crash-${i}`);
    const clients = await Promise.all([0, 1, 2, 3].map(() => IngestClient.connect(ingestPort)));
    const streams = clients.map((client, c) => streamUntilStopped(client, robots.filter((_, i) => i % 4 === c), 50));
    // Let a good amount of acknowledged traffic build up, then pull the plug mid-stream.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (streams.reduce((n, s) => n + s.frames, 0) >= 400) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    await Promise.all(streams.map((s) => s.stop()));

    expect(first.lines.some((line) => line.msg === 'projection checkpoint saved')).toBe(true);
    const second = start(store.env);
    const { httpPort } = await second.listening;
    await second.ready;
    expect(second.lines.some((line) => /^projection checkpoint loaded/.test(String(line.msg)))).toBe(true);
    const http = `http://127.0.0.1:${httpPort}`;
    let acknowledgedTotal = 0;
    for (const stream of streams) {
      for (const [robot, acked] of stream.acknowledged) {
        const stored = await storedTimestamps(http, robot);
        expect(new Set(stored).size).toBe(stored.length);
        expect(stored).toEqual([...stored].sort((a, b) => a - b));
        const storedSet = new Set(stored);
        for (const ts of acked) expect(storedSet.has(ts)).toBe(true);
        acknowledgedTotal += acked.length;
      }
    }
    expect(acknowledgedTotal).toBeGreaterThan(10_000);
  });
});

describe.each(storeVariants())('graceful shutdown on the $name log', (variant) => {
  it('answers every frame already received, closes sockets with 1001 and exits 0 on SIGTERM', async () => {
    const store = await variant.setup();
    fixtures.push(store);
    const service = start(store.env);
    const { ingestPort } = await service.listening;
    await service.ready;
    const client = await IngestClient.connect(ingestPort);
    const replies = Array.from({ length: 200 }, (_, i) => client.send(`${i},${i},${i},Term-${i % 5}`));
    // The first reply proves the server is reading this connection; the rest are already in flight.
    await replies[0];
    service.child.kill('SIGTERM');
    const settled = await Promise.allSettled(replies);
    const answered = settled.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value);
    // Every frame the server received before closing got its reply: no reply is lost mid-way.
    const firstLost = settled.findIndex((r) => r.status === 'rejected');
    if (firstLost >= 0) expect(settled.slice(firstLost).every((r) => r.status === 'rejected')).toBe(true);
    expect(answered.every((reply) => reply === 'OK' || reply === 'ERR shutting down')).toBe(true);
    expect((await client.closed).code).toBe(1001);
    expect(await service.exited).toEqual({ code: 0, signal: null });

    const again = start(store.env);
    const { httpPort } = await again.listening;
    await again.ready;
    const robots = (await getJson(`http://127.0.0.1:${httpPort}/api/robots`)).body as Array<{ event_count: number }>;
    expect(robots.reduce((n, r) => n + r.event_count, 0)).toBe(answered.filter((reply) => reply === 'OK').length);
  });
});

describe('refusing to start', () => {
  it('exits 2 with a clear message on invalid configuration', async () => {
    const service = start({ TELEMETRY_HTTP_PORT: 'abc' });
    expect((await service.exited).code).toBe(2);
    expect(service.stderr()).toContain('TELEMETRY_HTTP_PORT must be an integer 0-65535, got "abc"');
  });

  it('exits 1 with the reason when the data dir cannot be used', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const service = start({ TELEMETRY_DATA_DIR: join(file, 'data') });
    expect((await service.exited).code).toBe(1);
    const fatal = service.lines.find((line) => line.level === 60);
    expect(String(fatal?.msg)).toMatch(/cannot start: .*(ENOTDIR|not a directory)/);
  });

  it('refuses to run uWebSockets.js on its pure-JS fallback unless allowed', async () => {
    const refused = start({ TELEMETRY_DATA_DIR: tempDir(), UWS_USE_FALLBACK: '1' });
    expect((await refused.exited).code).toBe(1);
    const fatal = refused.lines.find((line) => line.level === 60);
    expect(String(fatal?.msg)).toContain('TELEMETRY_ALLOW_UWS_FALLBACK=1');

    const allowed = start({ TELEMETRY_DATA_DIR: tempDir(), UWS_USE_FALLBACK: '1', TELEMETRY_ALLOW_UWS_FALLBACK: '1' });
    const { ingestPort } = await allowed.listening;
    await allowed.ready;
    expect(allowed.lines.some((line) => line.level === 40 && /pure-JS emulation/.test(String(line.msg)))).toBe(true);
    const client = await IngestClient.connect(ingestPort);
    expect(await client.send('1,1,1,Fallback')).toBe('OK');
    await client.close();
  });
});
