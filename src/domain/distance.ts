// Distance between consecutive positions: the odometer's unit step.

/**
 * Euclidean distance. Math.hypot avoids the overflow of dx*dx + dy*dy for coordinates
 * beyond ~1e154, which robots with raw encoder units could send.
 */
export function distance(x1: number, y1: number, x2: number, y2: number): number {
  return Math.hypot(x2 - x1, y2 - y1);
}

/** Total path length of a packed (x, y, t) block, in order. */
export function pathLength(block: Float64Array): number {
  let total = 0;
  for (let i = 3; i < block.length; i += 3) {
    total += distance(block[i - 3]!, block[i - 2]!, block[i]!, block[i + 1]!);
  }
  return total;
}
