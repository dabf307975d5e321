// Pacing for `npm run replay -- --rate N`: a token bucket refilled at N events per second, at most
// `capacity` events banked. A frame takes its events up front and may run the bucket into debt;
// the sender then waits until the debt is paid. So over any interval of t seconds at most
// capacity + N·t events go out, with one timer per frame rather than a sleep per event. The clock
// is injected so the arithmetic is tested without waiting.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError('rate must be a positive number');
    if (!(capacity > 0)) throw new RangeError('capacity must be positive');
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes `n` tokens; returns how many milliseconds to wait before sending them (0: at once). */
  take(n: number): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.ratePerSecond;
  }
}
