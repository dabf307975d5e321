// The read side across restarts and rebuilds: a checkpoint gives the same answers as a full
// rebuild, a damaged checkpoint is never used, and an on-demand rebuild reports its progress and
// never exposes a half-built projection.

import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE } from '../../src/projections/checkpoint/checkpoint-file.js';
import { IngestClient } from '../support/ingest-client.js';
import { getJson, type TestService } from '../support/in-process-service.js';
import { serviceOnStore } from '../support/service-on-store.js';
import { mulberry32 } from '../../bench/lib/random.js';
import { storeVariants } from '../support/store-variants.js';

interface Summary {
  name: string;
  event_count: number;
  odometer: number;
}

/** Streams a deterministic fleet: `robots` robots, timestamps [from, to), several events per frame. */
async function feed(service: TestService, robots: number, to: number, seed = 1, from = 0): Promise<void> {
  const random = mulberry32(seed);
  const client = await IngestClient.connect(service.ingestPort);
  const perFrame = Math.max(1, Math.floor(100 / robots));
  const pending: Array<Promise<string[]>> = [];
  for (let k = from; k < to; k += perFrame) {
    const lines: string[] = [];
    for (let t = k; t < Math.min(to, k + perFrame); t++) {
      for (let r = 0; r < robots; r++) lines.push(`${(random() * 100).toFixed(3)},${(random() * 100).toFixed(3)},${t},fleet-${r}`);
    }
    pending.push(client.sendEvents(lines));
  }
  for (const statuses of await Promise.all(pending)) expect(statuses.every((s) => s === 'OK')).toBe(true);
  await client.close();
  await service.whenProjected();
}

/** Everything a reader can see of the fleet, for comparing two runs. */
async function snapshot(service: TestService): Promise<unknown> {
  const robots = (await getJson(`${service.http}/api/robots`)).body as Summary[];
  const ranges = await Promise.all(
    robots.map(async (r) => (await getJson(`${service.http}/api/robots/${r.name}/odometer?start_time=13&end_time=${r.event_count - 7}`)).body),
  );
  return { robots, ranges };
}

/** The checkpoint's files (the manifest and its segments) and their bytes. */
function checkpointFiles(dataDir: string): Map<string, Buffer> {
  const names = readdirSync(dataDir).filter((name) => name.startsWith(CHECKPOINT_FILE));
  return new Map(names.map((name) => [name, readFileSync(join(dataDir, name))]));
}

/** The segment files the manifest names. */
function segmentFiles(dataDir: string): string[] {
  const text = readFileSync(join(dataDir, CHECKPOINT_FILE), 'utf8');
  return (JSON.parse(text.slice(0, text.indexOf('\n'))) as { segments: Array<{ file: string }> }).segments.map((segment) => segment.file);
}

async function adminStatus(service: TestService) {
  return (await getJson(`${service.http}/api/admin/projections`)).body;
}

describe.each(storeVariants())('projections on the $name log', (variant) => {
  const fixture = serviceOnStore(variant);
  const restart = (env: Record<string, string> = {}) => fixture.restart(env);
  const dataDir = () => fixture.store.env.TELEMETRY_DATA_DIR!;

  it('answers the same from a checkpoint, from a forced rebuild and from a rebuild after the checkpoint is lost', async () => {
    const first = await restart();
    await feed(first, 10, 300);
    const expected = await snapshot(first);
    expect((await adminStatus(first)).rebuild).toMatchObject({ reason: 'no usable checkpoint', state: 'completed' });

    const fromCheckpoint = await restart();
    const status = await adminStatus(fromCheckpoint);
    expect(status.rebuild).toBeNull(); // loaded, not rebuilt
    expect(status.checkpoint.events).toBe(3000);
    expect(await snapshot(fromCheckpoint)).toEqual(expected);

    const forced = await restart({ TELEMETRY_REBUILD_PROJECTIONS: '1' });
    expect((await adminStatus(forced)).rebuild).toMatchObject({ reason: 'TELEMETRY_REBUILD_PROJECTIONS=1', state: 'completed' });
    expect(await snapshot(forced)).toEqual(expected);

    await fixture.stop();
    writeFileSync(join(dataDir(), CHECKPOINT_FILE), '');
    const rebuilt = await restart();
    expect((await adminStatus(rebuilt)).rebuild).toMatchObject({ reason: 'no usable checkpoint' });
    expect(await snapshot(rebuilt)).toEqual(expected);
  });

  it('loads an older checkpoint and replays the log after it', async () => {
    await feed(await restart(), 5, 100);
    await restart(); // the shutdown saved a checkpoint at 500 events; this start loads it
    const older = checkpointFiles(dataDir());
    await feed(fixture.service, 5, 200, 2, 100);
    const expected = await snapshot(fixture.service);
    await fixture.stop();
    // As if the process died before checkpointing the last 500 events: the files as they were then.
    for (const name of checkpointFiles(dataDir()).keys()) rmSync(join(dataDir(), name));
    for (const [name, bytes] of older) writeFileSync(join(dataDir(), name), bytes);

    const again = await restart();
    const status = await adminStatus(again);
    expect(status.rebuild).toBeNull();
    expect(status.checkpoint.events).toBe(500);
    expect(status.events).toBe(1000);
    expect(await snapshot(again)).toEqual(expected);
  });
});

describe('damaged checkpoints', () => {
  const fixture = serviceOnStore(storeVariants()[0]!);

  const truncate = (file: string) => truncateSync(file, Math.floor(statSync(file).size / 2));
  const flip = (file: string) => {
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length * 0.6)]! ^= 0x10;
    writeFileSync(file, bytes);
  };
  const manifest = (dataDir: string) => join(dataDir, CHECKPOINT_FILE);
  const segment = (dataDir: string) => join(dataDir, segmentFiles(dataDir).at(-1)!);
  it.each([
    ['truncated manifest', (dataDir: string) => truncate(manifest(dataDir))],
    ['bit-flipped manifest', (dataDir: string) => flip(manifest(dataDir))],
    ['truncated segment', (dataDir: string) => truncate(segment(dataDir))],
    ['bit-flipped segment', (dataDir: string) => flip(segment(dataDir))],
    ['missing segment', (dataDir: string) => rmSync(segment(dataDir))],
  ])('detects a checkpoint with a %s, rebuilds, and serves the right numbers', async (_name, damage) => {
    await feed(await fixture.restart(), 4, 250);
    const expected = await snapshot(fixture.service);
    await fixture.stop();
    damage(fixture.store.env.TELEMETRY_DATA_DIR!);
    const rebuilt = await fixture.restart();
    expect((await adminStatus(rebuilt)).rebuild).toMatchObject({ reason: 'no usable checkpoint', state: 'completed' });
    expect(await snapshot(rebuilt)).toEqual(expected);
    // The rebuilt projections were checkpointed again, and that checkpoint is whole.
    const again = await fixture.restart();
    expect((await adminStatus(again)).rebuild).toBeNull();
    expect(await snapshot(again)).toEqual(expected);
  });
});

describe('on-demand rebuild', () => {
  const fixture = serviceOnStore(storeVariants()[0]!);

  it('reports progress to completion while reads keep seeing the whole projection', async () => {
    const service = await fixture.restart();
    await feed(service, 50, 2000);
    const total = 100_000;
    const expected = await snapshot(service);

    const started = await fetch(`${service.http}/api/admin/projections/rebuild`, { method: 'POST' });
    expect(started.status).toBe(202);
    const { job_id: jobId } = (await started.json()) as { job_id: string };
    const again = await fetch(`${service.http}/api/admin/projections/rebuild`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'TELEMETRY_REBUILD_RUNNING' });

    const progress: number[] = [];
    for (;;) {
      const status = await adminStatus(service);
      expect(status.rebuild.job_id).toBe(jobId);
      progress.push(status.rebuild.events_done);
      // Reads during the rebuild come from the serving projections: never partial.
      const robots = (await getJson(`${service.http}/api/robots`)).body as Summary[];
      expect(robots.reduce((n, r) => n + r.event_count, 0)).toBe(total);
      if (status.rebuild.state !== 'running') {
        expect(status.rebuild).toMatchObject({ state: 'completed', events_done: total, events_total: total, error: null });
        expect(status.status).toBe('ready');
        break;
      }
    }
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(await snapshot(service)).toEqual(expected);
  });
});
