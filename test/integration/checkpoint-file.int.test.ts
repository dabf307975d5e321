// The checkpoint file on a real file system: atomic replace, no temp files left behind (even when
// the rename fails), null for a missing file, errors for an unreadable one.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  CHECKPOINT_FILE,
  loadCheckpointBytes,
  removeAbandonedFiles,
  removeCheckpoint,
  saveCheckpoint,
  WRITE_PIECE_BYTES,
} from '../../src/projections/checkpoint/checkpoint-file.js';
import { makeTempDir } from '../support/temp-dir.js';

let dir: ReturnType<typeof makeTempDir>;

beforeEach(() => {
  dir = makeTempDir('telemetry-checkpoint-');
});

afterEach(() => {
  dir.remove();
});

it('writes pieces of any size, gathered or whole, paced or not, blocking or not, as one file in order', async () => {
  const sizes = [0, 1, 7, WRITE_PIECE_BYTES, 3, WRITE_PIECE_BYTES - 3, 2 * WRITE_PIECE_BYTES + 5, 8, 0, 100_000];
  let seed = 0;
  const pieces = sizes.map((size) => {
    const piece = new Uint8Array(new SharedArrayBuffer(size));
    for (let i = 0; i < size; i++) piece[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    return piece;
  });
  const whole = Buffer.concat(pieces);
  for (const paced of [false, true]) {
    for (const blocking of [false, true]) {
      await saveCheckpoint(dir.path, pieces, { paced, blocking });
      const loaded = await loadCheckpointBytes(dir.path);
      expect(loaded?.equals(whole)).toBe(true);
      expect(loaded?.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  }
  expect(readdirSync(dir.path)).toEqual([CHECKPOINT_FILE]);
});

it('loads what was saved, byte for byte', async () => {
  const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff));
  await saveCheckpoint(dir.path, [bytes]);
  const loaded = await loadCheckpointBytes(dir.path);
  expect(loaded?.equals(bytes)).toBe(true);
});

it('replaces the previous checkpoint and leaves no temp files', async () => {
  await saveCheckpoint(dir.path, [Buffer.from('first, and longer than the second')]);
  await saveCheckpoint(dir.path, [Buffer.from('second')]);
  expect((await loadCheckpointBytes(dir.path))?.toString()).toBe('second');
  expect(readdirSync(dir.path)).toEqual([CHECKPOINT_FILE]);
});

it('answers null when there is no checkpoint', async () => {
  expect(await loadCheckpointBytes(dir.path)).toBeNull();
});

it('removes the checkpoint, and ignores one that is already gone', async () => {
  await saveCheckpoint(dir.path, [Buffer.from('x')]);
  await removeCheckpoint(dir.path);
  expect(await loadCheckpointBytes(dir.path)).toBeNull();
  await removeCheckpoint(dir.path);
  expect(readdirSync(dir.path)).toEqual([]);
});

it('rejects a failed save and removes its temp file', async () => {
  // A directory in the checkpoint's place: the rename over it fails.
  mkdirSync(join(dir.path, CHECKPOINT_FILE));
  await expect(saveCheckpoint(dir.path, [Buffer.from('x')])).rejects.toMatchObject({ code: expect.any(String) });
  expect(readdirSync(dir.path)).toEqual([CHECKPOINT_FILE]);
});

it('throws read errors other than a missing file', async () => {
  mkdirSync(join(dir.path, CHECKPOINT_FILE));
  await expect(loadCheckpointBytes(dir.path)).rejects.toMatchObject({ code: 'EISDIR' });
});

it('throws when the data dir does not exist', async () => {
  await expect(saveCheckpoint(join(dir.path, 'missing'), [Buffer.from('x')])).rejects.toMatchObject({ code: 'ENOENT' });
});

it('removes temp files of dead processes and keeps those of live ones and everything else', async () => {
  const dead = `${CHECKPOINT_FILE}.999999999.abcdef.tmp`;
  const live = `${CHECKPOINT_FILE}.${process.pid}.abcdef.tmp`;
  for (const name of [dead, live, CHECKPOINT_FILE, 'events.sqlite']) writeFileSync(join(dir.path, name), 'x');
  expect(await removeAbandonedFiles(dir.path)).toBe(1);
  expect(readdirSync(dir.path).sort()).toEqual([CHECKPOINT_FILE, 'events.sqlite', live].sort());
});

it('removes segment files of dead processes that the manifest does not name, and no others', async () => {
  const named = `${CHECKPOINT_FILE}.999999999.aaaaaa.seg`;
  const orphan = `${CHECKPOINT_FILE}.999999999.bbbbbb.seg`;
  const ours = `${CHECKPOINT_FILE}.${process.pid}.cccccc.seg`;
  for (const name of [named, orphan, ours, CHECKPOINT_FILE]) writeFileSync(join(dir.path, name), 'x');
  expect(await removeAbandonedFiles(dir.path, new Set([named]))).toBe(1);
  expect(readdirSync(dir.path).sort()).toEqual([CHECKPOINT_FILE, named, ours].sort());
  await removeCheckpoint(dir.path);
  expect(readdirSync(dir.path)).toEqual([]);
});
