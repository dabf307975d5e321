// The token bucket as replay paces with it (borrow), on a simulated clock: a sender that waits as told never exceeds
// capacity + rate·t events in any prefix of the run, keeps up the rate (not much slower), and
// banks no more than the capacity while idle.

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/tools/random.js';
import { TokenBucket } from '../../src/domain/token-bucket.js';

/** Sends `frames` frames of `size` events as fast as the bucket allows; returns each send time (ms). */
function simulate(rate: number, capacity: number, size: number, frames: number, think = () => 0): number[] {
  let now = 0;
  const bucket = new TokenBucket(rate, capacity, now);
  const sent: number[] = [];
  for (let i = 0; i < frames; i++) {
    now += think();
    now += bucket.borrow(size, now);
    sent.push(now);
  }
  return sent;
}

describe('TokenBucket', () => {
  it('lets the first `capacity` events go at once, then one frame per size/rate seconds', () => {
    const sent = simulate(1000, 100, 100, 5);
    expect(sent).toEqual([0, 100, 200, 300, 400]);
  });

  it('never lets more than capacity + rate·t events out by time t, and keeps the rate', () => {
    for (const [rate, capacity, size] of [
      [500, 50, 50],
      [10_000, 100, 100],
      [3, 1, 1],
      [1234.5, 120, 37],
    ] as const) {
      const frames = 2000;
      const random = mulberry32(rate);
      // The sender sometimes dawdles (reading the file, waiting for replies): the bucket refills meanwhile.
      const sent = simulate(rate, capacity, size, frames, () => (random() < 0.1 ? random() * 50 : 0));
      for (let i = 0; i < frames; i++) {
        const events = (i + 1) * size;
        expect(events).toBeLessThanOrEqual(capacity + (rate * sent[i]!) / 1000 + 1e-6);
      }
      const seconds = sent.at(-1)! / 1000;
      // Not slower than the rate either, apart from the random pauses the sender itself took.
      expect(frames * size).toBeGreaterThan(rate * seconds * 0.6);
    }
  });

  it('banks at most `capacity` while idle: after a long pause only one burst goes at once', () => {
    let now = 0;
    const bucket = new TokenBucket(100, 20, now);
    expect(bucket.borrow(20, now)).toBe(0);
    now += 60_000; // a minute idle would earn 6000 tokens without the cap
    expect(bucket.borrow(20, now)).toBe(0);
    expect(bucket.borrow(20, now)).toBeCloseTo(200, 6); // 20 events at 100/s
  });

  it('pays a frame larger than the capacity with a proportionally longer wait', () => {
    let now = 0;
    const bucket = new TokenBucket(100, 10, now);
    expect(bucket.borrow(10, now)).toBe(0);
    expect(bucket.borrow(50, now)).toBeCloseTo(500, 6);
  });

  it('refuses a rate or capacity that cannot pace', () => {
    expect(() => new TokenBucket(0, 10, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN, 10, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(Infinity, 10, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(10, 0, 0)).toThrow(RangeError);
  });
});
