// A robot's mailbox: events kept in arrival order across growth, and the memory of a burst given
// back once the mailbox is empty.

import { describe, expect, it } from 'vitest';
import type { ReplySink } from '../../src/actors/reply-sink.js';
import { RobotActor } from '../../src/actors/robot-actor.js';

class Replies implements ReplySink {
  readonly statuses: string[] = [];
  settle(slot: number, status: string): void {
    this.statuses[slot] = status;
  }
}

/** Tells `count` events (x, y, t) = (i, -i, i) to the actor, slots from `first`. */
function tellMany(actor: RobotActor, replies: Replies, first: number, count: number): void {
  for (let i = first; i < first + count; i++) expect(actor.tell(Float64Array.of(i, -i, i), replies, i)).toBe(true);
}

/** Takes, answers and releases batches of up to `batch` until the mailbox is empty. */
function drain(actor: RobotActor, batch: number): void {
  while (actor.waiting > 0) {
    const n = Math.min(batch, actor.waiting);
    actor.take(n);
    for (let i = 0; i < n; i++) actor.settle(i, `ok ${actor.mail[(actor.front + i) * 3 + 2]}`);
    actor.release(n);
  }
}

describe('RobotActor mailbox', () => {
  it('keeps a burst in order while it grows, and gives its memory back once drained', () => {
    const actor = new RobotActor('r', 100_000);
    const replies = new Replies();
    tellMany(actor, replies, 0, 5000);
    expect(actor.capacity).toBeGreaterThanOrEqual(5000);
    drain(actor, 700);
    expect(replies.statuses).toEqual(Array.from({ length: 5000 }, (_, i) => `ok ${i}`));
    expect(actor.unsettled).toBe(0);
    expect(actor.capacity).toBe(8);
    // It works as before afterwards.
    tellMany(actor, replies, 5000, 20);
    drain(actor, 6);
    expect(replies.statuses.slice(5000)).toEqual(Array.from({ length: 20 }, (_, i) => `ok ${5000 + i}`));
  });

  it('keeps a mailbox of steady size: it is not made again every time it empties', () => {
    const actor = new RobotActor('r', 100_000);
    const replies = new Replies();
    tellMany(actor, replies, 0, 600);
    const grown = actor.capacity;
    drain(actor, 100);
    expect(actor.capacity).toBe(grown);
  });
});
