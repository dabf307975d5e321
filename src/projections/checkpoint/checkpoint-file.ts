// The checkpoint file in the data dir: replaced atomically, so a crash at any moment leaves either
// the previous checkpoint or the new one, never a mix of the two.

import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointContent } from './codec.js';

export const CHECKPOINT_FILE = 'projections.checkpoint';

/** A save handed to the checkpoint thread (workers/save-checkpoint.ts). */
export interface CheckpointSaveTask {
  /** The robots' copied states, their arrays transferred (not copied again); laid out and sealed there. */
  readonly content: CheckpointContent;
  readonly dataDir: string;
}

/**
 * Writes `bytes` as the checkpoint: to a temp file in the same dir (so the rename cannot cross file
 * systems), fsynced before the rename so the new name never points at unwritten data, then the dir
 * fsynced so the rename itself survives a power cut. The temp name is unique, so two processes
 * sharing the data dir never write into the same temp file.
 */
export async function saveCheckpoint(dataDir: string, bytes: Buffer): Promise<void> {
  const target = join(dataDir, CHECKPOINT_FILE);
  const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temp, 'wx');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDir(dataDir);
}

/** The checkpoint's bytes, or null when there is none. */
export async function loadCheckpointBytes(dataDir: string): Promise<Buffer | null> {
  try {
    return await readFile(join(dataDir, CHECKPOINT_FILE));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** When the checkpoint was last replaced (its file's modification time), or null when there is none. */
export async function checkpointSavedAt(dataDir: string): Promise<Date | null> {
  try {
    return (await stat(join(dataDir, CHECKPOINT_FILE))).mtime;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Deletes temp files left by saves that a crash interrupted: those of processes no longer alive
 * (another live process sharing the data dir may be mid-save). Returns how many were removed.
 */
export async function removeAbandonedTempFiles(dataDir: string): Promise<number> {
  const pattern = new RegExp(`^${CHECKPOINT_FILE.replace('.', '\\.')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  let removed = 0;
  for (const name of await readdir(dataDir).catch(() => [] as string[])) {
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    await unlink(join(dataDir, name)).catch(() => undefined);
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, owned by someone else
  }
}

/** Deletes the checkpoint, if there is one. */
export async function removeCheckpoint(dataDir: string): Promise<void> {
  try {
    await unlink(join(dataDir, CHECKPOINT_FILE));
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
}

/** Some platforms (Windows) cannot open or fsync a directory; there the rename is as durable as it gets. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'EISDIR' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close();
  }
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}
