// The frames a connection has sent and not yet had answered, oldest first: the time each counts its
// latency from, and the buffer to give back to the pool when its reply comes. A growable ring, so
// the load loop allocates nothing per frame once it has warmed up.

import type { FrameCopy } from './frame-pool.js';

export class InflightQueue {
  private times = new Float64Array(16);
  private copies: (FrameCopy | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(time: number, copy: FrameCopy): void {
    if (this.count === this.times.length) this.grow();
    const at = (this.head + this.count) & (this.times.length - 1);
    this.times[at] = time;
    this.copies[at] = copy;
    this.count++;
  }

  /** The oldest entry's time; only when `length > 0`. */
  oldestTime(): number {
    return this.times[this.head]!;
  }

  /** Removes the oldest entry and returns its buffer; only when `length > 0`. */
  shift(): FrameCopy {
    const copy = this.copies[this.head]!;
    this.copies[this.head] = undefined;
    this.head = (this.head + 1) & (this.times.length - 1);
    this.count--;
    return copy;
  }

  private grow(): void {
    const size = this.times.length;
    const times = new Float64Array(size * 2);
    const copies: (FrameCopy | undefined)[] = new Array(size * 2);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & (size - 1);
      times[i] = this.times[from]!;
      copies[i] = this.copies[from];
    }
    this.times = times;
    this.copies = copies;
    this.head = 0;
  }
}
