// Distance between consecutive positions: the odometer's unit step.

const SMALLEST_NORMAL = 2.2250738585072014e-308;

/**
 * Euclidean distance. sqrt(dx² + dy²) costs a fraction of Math.hypot in V8 (BENCHMARKS.md,
 * "Distance"), and the odometer computes one per stored event; where the squares overflow (coordinates beyond ~1e154, e.g. raw
 * encoder units) or underflow into subnormals, Math.hypot's scaling gives the exact answer instead.
 */
export function distance(x1: number, y1: number, x2: number, y2: number): number {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const squared = dx * dx + dy * dy;
  if (squared === Infinity || (squared < SMALLEST_NORMAL && (dx !== 0 || dy !== 0))) return Math.hypot(dx, dy);
  return Math.sqrt(squared);
}

/** Total path length of a packed (x, y, t) block, in order. */
export function pathLength(block: Float64Array): number {
  let total = 0;
  for (let i = 3; i < block.length; i += 3) {
    total += distance(block[i - 3]!, block[i - 2]!, block[i]!, block[i + 1]!);
  }
  return total;
}
