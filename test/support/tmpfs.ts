// A size-limited tmpfs mounted for one test: a real filesystem that really fills (ENOSPC from the
// kernel, not a simulated error). Needs root with CAP_SYS_ADMIN, which this machine and CI have
// (both run the tests as root in a container); where mount is refused, `canMountTmpfs()` says why
// and the tests that need it are skipped with that reason.

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir.js';

export interface Tmpfs {
  readonly path: string;
  /** Remounts with new options (e.g. a larger size once a test lets space return). */
  remount(options: string): void;
  unmount(): void;
}

export function mountTmpfs(options: string): Tmpfs {
  const dir = makeTempDir('telemetry-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir.path], { stdio: 'pipe' });
  return {
    path: dir.path,
    remount: (next) => void execFileSync('mount', ['-o', `remount,${next}`, dir.path], { stdio: 'pipe' }),
    unmount: () => {
      execFileSync('umount', ['-l', dir.path], { stdio: 'pipe' });
      dir.remove();
    },
  };
}

/** Null when tmpfs can be mounted here; otherwise the reason (for the skip message). */
export function canMountTmpfs(): string | null {
  try {
    mountTmpfs('size=64k').unmount();
    return null;
  } catch (error) {
    return `cannot mount tmpfs here (${(error as Error).message.split('\n')[0]}): needs root with CAP_SYS_ADMIN`;
  }
}

/** Writes `name` in `dir` until the filesystem refuses with ENOSPC; returns the bytes written. */
export function fillUp(dir: string, name = 'filler'): number {
  const fd = openSync(join(dir, name), 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x66);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw error;
      }
    }
    // Top off the last partial page, so not even a small write fits.
    for (let size = 32 * 1024; size >= 1; size = Math.floor(size / 2)) {
      try {
        written += writeSync(fd, chunk.subarray(0, size));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
