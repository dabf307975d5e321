// The checkpoint's files in the data dir. CHECKPOINT_FILE names the checkpoint — a manifest listing
// its segment files (checkpoint-chain.ts), or, as written before segments, one whole checkpoint —
// and is replaced atomically, so a crash at any moment leaves either the previous checkpoint or the
// new one, never a mix of the two. Segment files are written in full and synced before a manifest
// names them, and never changed afterwards.

import { randomBytes } from 'node:crypto';
import { fdatasyncSync, fsyncSync, writeSync } from 'node:fs';
import { type FileHandle, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export const CHECKPOINT_FILE = 'projections.checkpoint';
/** Segment files: `${CHECKPOINT_FILE}.<pid>.<random hex>.seg`, named by the process that wrote them (newSegmentFileName). */
const SEGMENT_FILE = new RegExp(`^${CHECKPOINT_FILE.replace('.', '\\.')}\\.(\\d+)\\.[0-9a-f]+\\.seg$`);
const TEMP_FILE = new RegExp(`^${CHECKPOINT_FILE.replace('.', '\\.')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);

export interface SaveOptions {
  /**
   * Write at most PACED_BYTES_PER_SECOND, each piece synced before the next, rather than as fast as
   * the disk takes it. A checkpoint is background work on the disk the log's commits fsync on, and
   * the file grows with the fleet's history: a 512 MB one written at full speed during ingest at
   * 810,000 events/s took the ack p99 of that 20 s from 27 to 146 ms (BENCHMARKS.md).
   */
  readonly paced?: boolean;
  /**
   * Write and sync with blocking calls on the calling thread rather than through libuv's shared
   * pool: for a thread that does nothing else. The kernel's share of the writing — copying the
   * pages, flushing them — then runs on that thread, at its priority (workers/save-checkpoint.ts).
   */
  readonly blocking?: boolean;
}

/** Bytes written at a time: small pieces are gathered up to it, larger ones written from their own memory. */
export const WRITE_PIECE_BYTES = 1 << 20;
/** A paced save's rate: 512 MB (32,000,000 events) in 8 s. */
export const PACED_BYTES_PER_SECOND = 64 << 20;

/**
 * Writes the pieces, in order, as the checkpoint: to a temp file in the same dir (so the rename
 * cannot cross file systems), fsynced before the rename so the new name never points at unwritten
 * data, then the dir fsynced so the rename itself survives a power cut. The temp name is unique, so
 * two processes sharing the data dir never write into the same temp file.
 */
export async function saveCheckpoint(dataDir: string, pieces: Iterable<Uint8Array>, options: SaveOptions = {}): Promise<void> {
  const target = join(dataDir, CHECKPOINT_FILE);
  const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeNewFile(temp, pieces, options);
  try {
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDir(dataDir);
}

/** True when `name` is a segment file's name (whichever process wrote it). */
export function isSegmentFileName(name: string): boolean {
  return SEGMENT_FILE.test(name);
}

/** A name for a new segment file of this process (unique, so never one that exists). */
export function newSegmentFileName(): string {
  return `${CHECKPOINT_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.seg`;
}

/**
 * Writes the pieces, in order, as a file that must not exist yet, synced before this resolves; on
 * failure the partial file is removed. Its name only becomes part of a checkpoint once a manifest
 * naming it replaces CHECKPOINT_FILE, after this.
 */
export async function writeNewFile(path: string, pieces: Iterable<Uint8Array>, options: SaveOptions = {}): Promise<void> {
  try {
    const file = await open(path, 'wx');
    try {
      await writePieces(file, pieces, options);
      if (options.blocking === true) fsyncSync(file.fd);
      else await file.sync();
    } finally {
      await file.close();
    }
  } catch (error) {
    await unlink(path).catch(() => undefined);
    throw error;
  }
}

/**
 * Writes the pieces in order, WRITE_PIECE_BYTES at a time. Paced, each write is synced and followed
 * by a pause that holds the rate to PACED_BYTES_PER_SECOND; the pieces (and their hashing) are
 * produced as they are written, so the thread's CPU is spread the same way.
 */
async function writePieces(file: FileHandle, pieces: Iterable<Uint8Array>, options: SaveOptions): Promise<void> {
  const { paced = false, blocking = false } = options;
  const gather = Buffer.allocUnsafe(WRITE_PIECE_BYTES);
  let gathered = 0;
  let position = 0;
  let started = performance.now();
  const write = async (bytes: Uint8Array): Promise<void> => {
    for (let at = 0; at < bytes.length; ) {
      const length = bytes.length - at;
      const bytesWritten = blocking ? writeSync(file.fd, bytes, at, length, position) : (await file.write(bytes, at, length, position)).bytesWritten;
      at += bytesWritten;
      position += bytesWritten;
    }
    if (!paced) return;
    if (blocking) fdatasyncSync(file.fd);
    else await file.datasync();
    const due = (bytes.length / PACED_BYTES_PER_SECOND) * 1000 - (performance.now() - started);
    if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    started = performance.now();
  };
  for (const piece of pieces) {
    for (let at = 0; at < piece.length; ) {
      if (gathered === 0 && piece.length - at >= WRITE_PIECE_BYTES) {
        await write(piece.subarray(at, at + WRITE_PIECE_BYTES));
        at += WRITE_PIECE_BYTES;
        continue;
      }
      const take = Math.min(WRITE_PIECE_BYTES - gathered, piece.length - at);
      gather.set(piece.subarray(at, at + take), gathered);
      gathered += take;
      at += take;
      if (gathered === WRITE_PIECE_BYTES) {
        await write(gather);
        gathered = 0;
      }
    }
  }
  if (gathered > 0) await write(gather.subarray(0, gathered));
}

/**
 * The bytes of CHECKPOINT_FILE, or of the file `name` in the data dir, or null when there is none.
 * They are read into shared memory: decoding makes the robots' arrays views of it, and those are
 * handed to the checkpoint thread without a copy.
 */
export async function loadCheckpointBytes(dataDir: string, name = CHECKPOINT_FILE): Promise<Buffer | null> {
  let file: FileHandle;
  try {
    file = await open(join(dataDir, name), 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
  try {
    const { size } = await file.stat();
    const bytes = Buffer.from(new SharedArrayBuffer(size));
    let read = 0;
    while (read < size) {
      const { bytesRead } = await file.read(bytes, read, size - read, read);
      if (bytesRead === 0) break; // truncated meanwhile: the digest check will say so
      read += bytesRead;
    }
    return read === size ? bytes : bytes.subarray(0, read);
  } finally {
    await file.close();
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
 * Deletes files left by saves that a crash interrupted: temp files, and segment files no manifest
 * names (`keep`), of processes no longer alive (another live process sharing the data dir may be
 * mid-save). Returns how many were removed.
 */
export async function removeAbandonedFiles(dataDir: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dataDir).catch(() => [] as string[])) {
    const pid = (TEMP_FILE.exec(name) ?? (keep.has(name) ? null : SEGMENT_FILE.exec(name)))?.[1];
    if (pid === undefined || isAlive(Number(pid))) continue;
    await unlink(join(dataDir, name)).catch(() => undefined);
    removed++;
  }
  return removed;
}

/**
 * Deletes segment files a checkpoint no longer names, where they are this process's own or their
 * process is gone: a live process sharing the data dir may still count on its own.
 */
export async function removeSegments(dataDir: string, names: Iterable<string>): Promise<void> {
  for (const name of names) {
    const pid = SEGMENT_FILE.exec(name)?.[1];
    if (pid === undefined || (Number(pid) !== process.pid && isAlive(Number(pid)))) continue;
    await unlink(join(dataDir, name)).catch(() => undefined);
  }
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

/** Deletes the checkpoint, if there is one, and every segment file. */
export async function removeCheckpoint(dataDir: string): Promise<void> {
  try {
    await unlink(join(dataDir, CHECKPOINT_FILE));
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  for (const name of await readdir(dataDir)) {
    if (SEGMENT_FILE.test(name)) await unlink(join(dataDir, name)).catch(() => undefined);
  }
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
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
