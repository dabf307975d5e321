// Loading a checkpoint chain from a real data dir: the one-file layout written before chains still
// loads, and a chain whose manifest and segments disagree in any way is refused as a whole.

import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { hasCode } from '../../src/domain/errors.js';
import { loadCheckpoint, namedSegments } from '../../src/projections/checkpoint/checkpoint-chain.js';
import { CHECKPOINT_FILE, saveCheckpoint } from '../../src/projections/checkpoint/checkpoint-file.js';
import { encodeCheckpoint } from '../../src/projections/checkpoint/codec.js';
import { Checkpointer } from '../../src/projections/checkpointer.js';
import { Projections } from '../../src/projections/projections.js';
import { makeTempDir } from '../support/temp-dir.js';

const META = { projectionVersion: 1, logIdentity: 'sqlite:chain-test' };
let dir: ReturnType<typeof makeTempDir>;

beforeEach(() => {
  dir = makeTempDir('telemetry-chain-');
});

afterEach(() => {
  dir.remove();
});

function fleet(events: number, position: bigint): Projections {
  const projections = new Projections();
  for (const name of ['x', 'y']) {
    const values = Float64Array.from({ length: events * 3 }, (_, i) => (i % 3 === 2 ? Math.floor(i / 3) : Math.sin(i) * 10));
    projections.apply([{ position, stream: name, firstRevision: 0n, events: values }]);
  }
  return projections;
}

/** Saves `projections` through a Checkpointer in chain segments of at most `segmentEvents`, growing it in `steps`. */
async function saveChain(steps: number[], segmentEvents: number): Promise<Projections> {
  const projections = new Projections();
  const checkpointer = new Checkpointer({ dataDir: dir.path, everyEvents: 1e9, everySeconds: 3600, segmentEvents, ...META }, () => projections, pino({ level: 'silent' }));
  let have = 0;
  let position = 0n;
  for (const to of steps) {
    const values = Float64Array.from({ length: (to - have) * 3 }, (_, i) => (i % 3 === 2 ? have + Math.floor(i / 3) : Math.cos(have * 3 + i)));
    projections.apply([{ position: ++position, stream: 'x', firstRevision: BigInt(have), events: values }]);
    have = to;
    await checkpointer.saveIfChanged();
  }
  await checkpointer.stop();
  return projections;
}

async function loadError(): Promise<Error> {
  try {
    await loadCheckpoint(dir.path, META);
  } catch (error) {
    expect(hasCode(error, 'CHECKPOINT_INVALID'), String(error)).toBe(true);
    return error as Error;
  }
  throw new Error('the checkpoint loaded');
}

it('loads a one-file checkpoint as written before chains, with no chain to continue', async () => {
  const projections = fleet(300, 77n);
  await saveCheckpoint(dir.path, [encodeCheckpoint(projections, META)]);
  const loaded = (await loadCheckpoint(dir.path, META))!;
  expect(loaded.segments).toBeNull();
  expect(loaded.projections.list()).toEqual(projections.list());
  expect(loaded.projections.position).toBe(77n);
  expect(await namedSegments(dir.path)).toEqual(new Set());
});

it('loads a chain of segments as the projections it was saved from', async () => {
  const saved = await saveChain([100, 250, 400, 420], 150);
  const loaded = (await loadCheckpoint(dir.path, META))!;
  expect(loaded.segments!.map((segment) => segment.events)).toEqual([100, 150, 150, 20]);
  expect(loaded.projections.list()).toEqual(saved.list());
  expect(loaded.projections.position).toBe(4n);
  expect(loaded.lastStart.get('x')).toBe(400);
  expect(await namedSegments(dir.path)).toEqual(new Set(loaded.segments!.map((segment) => segment.file)));
});

it('refuses a chain whose manifest and segments disagree', async () => {
  await saveChain([100, 250, 400], 150);
  const segments = [...(await namedSegments(dir.path))];
  const manifest = readFileSync(join(dir.path, CHECKPOINT_FILE));
  // Two segments swapped under each other's names: each whole, but not the file the manifest names.
  const [a, b] = segments as [string, string];
  renameSync(join(dir.path, a), join(dir.path, 'swap'));
  renameSync(join(dir.path, b), join(dir.path, a));
  renameSync(join(dir.path, 'swap'), join(dir.path, b));
  expect((await loadError()).message).toMatch(/segment 1 of 3 \(.*\) is not the file the manifest names/);
  renameSync(join(dir.path, a), join(dir.path, 'swap'));
  renameSync(join(dir.path, b), join(dir.path, a));
  renameSync(join(dir.path, 'swap'), join(dir.path, b));
  expect((await loadCheckpoint(dir.path, META))!.projections.eventCount).toBe(400);
  // A segment damaged in place: its own checksum says so, and the error says which segment.
  const second = join(dir.path, b);
  const original = readFileSync(second);
  const flipped = Buffer.from(original);
  flipped[100]! ^= 1;
  writeFileSync(second, flipped);
  expect((await loadError()).message).toMatch(/^Projection checkpoint unusable: segment 2 of 3 \(.*\.seg\): checksum mismatch: the contents are corrupt$/);
  writeFileSync(second, original);
  // Another build's or another log's checkpoint.
  await expect(loadCheckpoint(dir.path, { ...META, projectionVersion: 2 })).rejects.toThrow(/projection version differs: checkpoint has 1, this build expects 2/);
  await expect(loadCheckpoint(dir.path, { ...META, logIdentity: 'other' })).rejects.toThrow(/log identity differs/);
  // A manifest edited without its digest, and one whose digest was recomputed over a bad body.
  const text = manifest.toString('utf8');
  writeFileSync(join(dir.path, CHECKPOINT_FILE), text.replace('"position":"3"', '"position":"9"'));
  expect((await loadError()).message).toMatch(/manifest checksum mismatch/);
  writeFileSync(join(dir.path, CHECKPOINT_FILE), 'not a manifest');
  expect((await loadError()).message).toMatch(/the manifest is not a manifest/);
  expect(readdirSync(dir.path)).toHaveLength(4);
});
