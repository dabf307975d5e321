// Distance math behind the odometer: Euclidean steps, summed over packed (x, y, t) blocks.

import { describe, expect, it } from 'vitest';
import { distance, pathLength } from '../../src/domain/distance.js';

describe('distance', () => {
  it('is 5 for a 3-4-5 triangle, in any direction', () => {
    expect(distance(0, 0, 3, 4)).toBe(5);
    expect(distance(3, 4, 0, 0)).toBe(5);
    expect(distance(-1, -1, 2, 3)).toBe(5);
    expect(distance(1, 1, -2, -3)).toBe(5);
  });

  it('is 0 between a point and itself', () => {
    expect(distance(7.5, -2, 7.5, -2)).toBe(0);
  });

  it('is the absolute difference along one axis', () => {
    expect(distance(0, 0, -2.5, 0)).toBe(2.5);
    expect(distance(0, 10, 0, 4)).toBe(6);
  });

  it('does not overflow to Infinity for huge coordinates', () => {
    const d = distance(0, 0, 3e200, 4e200);
    expect(Number.isFinite(d)).toBe(true);
    expect(Math.abs(d - 5e200)).toBeLessThanOrEqual(5e200 * 1e-15);
    expect(Number.isFinite(distance(1e200, 1e200, -1e200, -1e200))).toBe(true);
  });

  it('does not underflow to 0 for tiny steps', () => {
    const d = distance(0, 0, 3e-200, 4e-200);
    expect(d).toBeGreaterThan(0);
    expect(Math.abs(d - 5e-200)).toBeLessThanOrEqual(5e-200 * 1e-15);
  });
});

describe('pathLength', () => {
  it('is 0 for an empty block and for a single event', () => {
    expect(pathLength(new Float64Array(0))).toBe(0);
    expect(pathLength(Float64Array.of(3, 4, 10))).toBe(0);
  });

  it('sums the steps of a packed (x, y, t) block, ignoring timestamps', () => {
    // (0,0) → (3,4) → (3,0) → (0,0): 5 + 4 + 3
    const block = Float64Array.of(0, 0, 1, 3, 4, 2, 3, 0, 1000, 0, 0, 5000);
    expect(pathLength(block)).toBe(12);
  });

  it('counts going back and forth', () => {
    const block = Float64Array.of(0, 0, 0, 1, 0, 1, 0, 0, 2);
    expect(pathLength(block)).toBe(2);
  });

  it('reads a subarray view at its own offset', () => {
    const whole = Float64Array.of(100, 100, 0, 0, 0, 1, 3, 4, 2);
    expect(pathLength(whole.subarray(3))).toBe(5);
  });

  it('stays finite with huge coordinates', () => {
    const block = Float64Array.of(0, 0, 0, 3e200, 4e200, 1, 0, 0, 2);
    const total = pathLength(block);
    expect(Number.isFinite(total)).toBe(true);
    expect(Math.abs(total - 1e201)).toBeLessThanOrEqual(1e201 * 1e-15);
  });
});

describe('distance at the edges of float64', () => {
  it('matches Math.hypot for tiny, huge and ordinary steps', () => {
    const cases: Array<[number, number]> = [
      [1e-160, 1e-160],
      [3e-170, 0],
      [1e200, 1e200],
      [-1.7e308, 0],
      [0, 0],
      [3, 4],
      [0.1, 0.2],
    ];
    for (const [dx, dy] of cases) {
      const exact = Math.hypot(dx, dy);
      const got = distance(0, 0, dx, dy);
      expect(Math.abs(got - exact)).toBeLessThanOrEqual(Number.EPSILON * exact);
    }
  });
});
