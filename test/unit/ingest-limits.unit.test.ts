// The ingest limits' building blocks, without sockets: the rate bucket on a simulated clock, the
// line count that refuses a frame of too many events (checked against forEachLine itself), and the
// connection counts in total and per token.

import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../src/domain/wire-format.js';
import { ConnectionLimits } from '../../src/ingest/connection-limits.js';
import { exceedsLines, FrameDecoder, FrameRejection } from '../../src/ingest/frame-decoder.js';
import { TokenBucket } from '../../src/domain/token-bucket.js';
import { mulberry32 } from '../../src/tools/random.js';

function takeAll(bucket: TokenBucket, max = 1_000_000): number {
  let n = 0;
  while (n < max && bucket.take()) n++;
  return n;
}

describe('TokenBucket', () => {
  it('allows the burst at once, then refills at the rate, never above the burst', () => {
    const bucket = new TokenBucket(1000, 50, 0);
    expect(takeAll(bucket)).toBe(50);
    expect(bucket.take()).toBe(false);
    bucket.refill(10); // 10 ms at 1000/s: 10 events
    expect(takeAll(bucket)).toBe(10);
    bucket.refill(10_000); // long idle: capped at the burst
    expect(takeAll(bucket)).toBe(50);
  });

  it('keeps fractions of a token across refills, so slow frames are not starved', () => {
    // 125/s is 1/8 per millisecond, exact in binary: the count below is exact, not approximate.
    const bucket = new TokenBucket(125, 1, 0);
    expect(takeAll(bucket)).toBe(1);
    let granted = 0;
    for (let ms = 1; ms <= 1000; ms++) {
      bucket.refill(ms);
      granted += takeAll(bucket);
    }
    expect(granted).toBe(125);
  });

  it('ignores a clock that does not move forward', () => {
    const bucket = new TokenBucket(1000, 5, 100);
    takeAll(bucket);
    bucket.refill(50);
    bucket.refill(100);
    expect(bucket.take()).toBe(false);
  });
});

describe('exceedsLines', () => {
  it('counts lines exactly as forEachLine does, on random frames', () => {
    const random = mulberry32(6);
    const alphabet = ['\n', '\n', '\r', 'a', ',', '1'];
    for (let k = 0; k < 2000; k++) {
      let text = '';
      const length = Math.floor(random() * 12);
      for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
      const lines = forEachLine(text, () => undefined);
      expect(exceedsLines(text, lines), JSON.stringify(text)).toBe(false);
      if (lines > 1) expect(exceedsLines(text, lines - 1), JSON.stringify(text)).toBe(true);
    }
  });

  it('treats a lone trailing newline as the end of the last line', () => {
    expect(exceedsLines('a\n', 1)).toBe(false);
    expect(exceedsLines('a\nb', 1)).toBe(true);
    expect(exceedsLines('\n\n', 1)).toBe(true);
    expect(exceedsLines('', 1)).toBe(false);
  });
});

describe('FrameDecoder events limit', () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it('refuses a frame of more lines than the limit with one shared reply, and passes one at the limit', () => {
    const decoder = new FrameDecoder(1024, 3);
    expect(decoder.decode(encode('1,1,1,a\n1,1,2,a\n1,1,3,a\n'), false)).toBe('1,1,1,a\n1,1,2,a\n1,1,3,a\n');
    const refused = decoder.decode(encode('1,1,1,a\n1,1,2,a\n1,1,3,a\n1,1,4,a'), false);
    expect(refused).toBeInstanceOf(FrameRejection);
    expect((refused as FrameRejection).status).toBe('ERR frame exceeds 3 events');
    expect(decoder.decode(encode('\n\n\n\n'), false)).toBe(refused);
  });

  it('checks the byte size before counting lines', () => {
    const decoder = new FrameDecoder(64, 1);
    expect((decoder.decode(encode('\n'.repeat(65)), false) as FrameRejection).status).toBe('ERR frame exceeds 64 bytes');
  });
});

describe('ConnectionLimits', () => {
  it('refuses past the total with 503 and past a token share with 429, and frees both on close', () => {
    const limits = new ConnectionLimits({ maxConnections: 3, maxConnectionsPerToken: 2 });
    limits.opened('t1');
    limits.opened('t1');
    const perToken = limits.refusal('t1');
    expect(perToken?.status).toBe(429);
    expect(perToken?.error.code).toBe('TELEMETRY_TOO_MANY_TOKEN_CONNECTIONS');
    expect(perToken?.error.message).toContain('TELEMETRY_MAX_CONNECTIONS_PER_TOKEN');
    expect(limits.refusal('t2')).toBeNull();
    limits.opened(null);
    const total = limits.refusal('t2');
    expect(total?.status).toBe(503);
    expect(total?.error.code).toBe('TELEMETRY_TOO_MANY_CONNECTIONS');
    expect(limits.refusal(null)?.status).toBe(503);
    limits.closed('t1');
    expect(limits.heldBy('t1')).toBe(1);
    expect(limits.refusal('t1')).toBeNull();
    limits.closed('t1');
    expect(limits.heldBy('t1')).toBe(0);
  });
});
