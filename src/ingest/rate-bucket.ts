// A connection's send rate, as a token bucket: `burst` events at once, refilled at `perSecond`.
// Refilled once per frame from one clock read and drawn once per event with a compare and a
// decrement, so the ingest loop pays no allocation and no clock call per event.

export class RateBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
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

  /** Takes one event's token; false when the bucket is empty (the event is over the rate). */
  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
