// A token bucket: `burst` tokens at once, refilled at `perSecond`. Two ways to draw from it:
// - the ingest's per-connection rate limit refills once per frame from one clock read and takes one
//   token per event (a compare and a decrement: no allocation, no clock call per event), refusing
//   what is over the rate;
// - `npm run replay --rate` borrows a whole frame's tokens, into debt if need be, and waits until
//   the debt is paid — one timer per frame, and over any t seconds at most burst + perSecond·t go out.
// Time is passed in (performance.now() milliseconds), so the arithmetic is tested without waiting.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError('rate must be a positive number');
    if (!(burst > 0)) throw new RangeError('burst must be positive');
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Adds what the time since the last refill earned, up to the burst. */
  refill(nowMs: number): void {
    const elapsed = nowMs - this.last;
    if (elapsed <= 0) return;
    this.last = nowMs;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.perSecond) / 1000);
  }

  /** Takes one token; false when there is none (the event is over the rate). */
  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Refills, then takes `n` tokens even into debt; returns the milliseconds until the debt is paid (0: none). */
  borrow(n: number, nowMs: number): number {
    this.refill(nowMs);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.perSecond;
  }
}
