// CPU priority for a thread that does background work. On Linux every thread has a nice value of its
// own: setpriority(2) given a thread's id changes that thread alone. Elsewhere the same call takes a
// process id and would slow the whole service down, so there it does nothing.

import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';

/**
 * Gives the calling thread the lowest CPU priority (nice 19, PRIORITY_LOW), so that on busy cores the threads
 * answering clients run first and this one takes what they leave. True when it was lowered.
 */
export function lowerThisThreadsPriority(): boolean {
  const id = thisThreadsId();
  if (id === undefined) return false;
  try {
    setPriority(id, constants.priority.PRIORITY_LOW);
    return true;
  } catch {
    return false; // a sandbox that forbids it: the thread runs at its usual priority
  }
}

/** The calling thread's kernel id (Linux: /proc/thread-self links to `<pid>/task/<tid>`). */
function thisThreadsId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const id = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}
