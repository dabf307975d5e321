// How replay cuts input into frames (any chunking of the input gives the same frames; limits on
// events and bytes; blank lines, CRLF, a BOM and non-UTF-8 lines) and how it tallies replies.

import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../src/domain/wire-format.js';
import { newFrameStats, readFrames, type Frame, type FrameLimits } from '../../src/tools/frames.js';
import { ReplyTally } from '../../src/tools/reply-tally.js';

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function frames(input: string | Buffer, limits: FrameLimits, chunk = 1 << 16) {
  const stats = newFrameStats();
  const out: Frame[] = [];
  for await (const frame of readFrames(chunksOf(Buffer.from(input), chunk), limits, stats)) out.push(frame);
  return { frames: out, stats };
}

describe('readFrames', () => {
  const text = Array.from({ length: 23 }, (_, i) => `${i},${-i}.5,${i * 10},Rob Ø ${i % 4}`).join('\n') + '\n';

  it('cuts at maxEvents, keeps every line in order, and is the same for any chunking', async () => {
    const whole = await frames(text, { maxEvents: 5, maxBytes: 1 << 20 });
    expect(whole.frames.map((f) => f.events)).toEqual([5, 5, 5, 5, 3]);
    expect(whole.frames.map((f) => f.text).join('\n') + '\n').toBe(text);
    expect(whole.frames.flatMap((f) => f.lineNumbers)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(whole.frames.reduce((sum, f) => sum + f.inputBytes, 0)).toBe(Buffer.byteLength(text));
    // Each frame is what the service will count as `events` lines.
    for (const frame of whole.frames) expect(forEachLine(frame.text, () => undefined)).toBe(frame.events);
    for (const chunk of [1, 2, 3, 7, 64]) {
      const split = await frames(text, { maxEvents: 5, maxBytes: 1 << 20 }, chunk);
      expect(split.frames).toEqual(whole.frames);
    }
  });

  it('keeps frames within maxBytes and sends a longer line alone', async () => {
    const long = `1,1,1,${'x'.repeat(60)}`;
    const input = ['1,1,1,a', '2,2,2,a', long, '3,3,3,a', '4,4,4,a', '5,5,5,a'].join('\n');
    const { frames: out } = await frames(input, { maxEvents: 100, maxBytes: 24 });
    expect(out.map((f) => f.text)).toEqual(['1,1,1,a\n2,2,2,a', long, '3,3,3,a\n4,4,4,a\n5,5,5,a']);
    for (const frame of out) if (frame.events > 1) expect(Buffer.byteLength(frame.text)).toBeLessThanOrEqual(24);
    expect(out[1]!.lineNumbers).toEqual([3]);
  });

  it('skips blank lines (counted, numbered past), keeps CR for the service, drops a BOM, sends the last line without a newline', async () => {
    const input = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('1,1,1,a\r\n\r\n\n2,2,2,a\r\n\n3,3,3,a')]);
    const { frames: out, stats } = await frames(input, { maxEvents: 100, maxBytes: 1 << 20 }, 4);
    expect(out).toHaveLength(1);
    expect(out[0]!.text).toBe('1,1,1,a\r\n2,2,2,a\r\n3,3,3,a');
    expect(out[0]!.lineNumbers).toEqual([1, 4, 6]);
    expect(stats.blankLines).toBe(3);
    expect(out[0]!.inputBytes).toBe(input.length);
  });

  it('does not send a line that is not UTF-8, and says which', async () => {
    const input = Buffer.concat([Buffer.from('1,1,1,a\n2,2,2,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n3,3,3,a\n')]);
    const { frames: out, stats } = await frames(input, { maxEvents: 100, maxBytes: 1 << 20 });
    expect(out.map((f) => f.text)).toEqual(['1,1,1,a\n3,3,3,a']);
    expect(stats).toMatchObject({ notUtf8: 1, firstNotUtf8Line: 2 });
  });

  it('yields nothing for an empty or blank input', async () => {
    expect((await frames('', { maxEvents: 10, maxBytes: 100 })).frames).toEqual([]);
    expect((await frames('\n\n', { maxEvents: 10, maxBytes: 100 })).frames).toEqual([]);
  });
});

describe('ReplyTally', () => {
  const frame = (events: number, firstLine = 1): Frame => ({
    text: '',
    events,
    lineNumbers: Array.from({ length: events }, (_, i) => firstLine + i),
    inputBytes: events * 10,
  });

  it('counts statuses per event and ERR by reason with the first line', () => {
    const tally = new ReplyTally();
    tally.add(frame(3), 'OK\nOK\nOK');
    tally.add(frame(5, 4), 'OK\nDUP\nSTALE\nERR x must be a finite decimal number\nERR x must be a finite decimal number');
    tally.add(frame(2, 9), 'ERR empty event\r\nOK');
    expect(tally).toMatchObject({ ok: 5, dup: 1, stale: 1, err: 3, answeredEvents: 10, answeredFrames: 3, answeredBytes: 100 });
    expect([...tally.errors.values()]).toEqual([
      { reason: 'x must be a finite decimal number', count: 2, firstLine: 7 },
      { reason: 'empty event', count: 1, firstLine: 9 },
    ]);
  });

  it('applies a whole-frame refusal to every event in the frame', () => {
    const tally = new ReplyTally();
    tally.add(frame(4, 20), 'ERR frame exceeds 1048576 bytes');
    expect(tally.err).toBe(4);
    expect(tally.errors.get('frame exceeds 1048576 bytes')).toEqual({ reason: 'frame exceeds 1048576 bytes', count: 4, firstLine: 20 });
  });

  it('counts a reply of the wrong length, or an unknown status, as an error rather than guessing', () => {
    const tally = new ReplyTally();
    tally.add(frame(3), 'OK\nOK');
    tally.add(frame(1, 5), 'MAYBE');
    expect(tally.ok).toBe(0);
    expect(tally.err).toBe(4);
    expect([...tally.errors.keys()]).toEqual(['reply had 2 statuses for 3 events', 'unexpected status "MAYBE"']);
  });
});

describe('readFrames and CSV exports', () => {
  it('skips the header line of a CSV export, and only as the first line', async () => {
    const exported = 'x,y,timestamp,robot_name\r\n1,2,3,Bender\r\n4,5,6,Bender\r\n';
    const { frames: out, stats } = await frames(exported, { maxEvents: 10, maxBytes: 1 << 20 });
    expect(stats.header).toBe(true);
    expect(out.map((f) => f.text)).toEqual(['1,2,3,Bender\r\n4,5,6,Bender\r']);
    expect(out[0]!.lineNumbers).toEqual([2, 3]);
    expect(out.reduce((sum, f) => sum + f.inputBytes, 0)).toBe(Buffer.byteLength(exported));
    const later = await frames('1,2,3,Bender\nx,y,timestamp,robot_name\n', { maxEvents: 10, maxBytes: 1 << 20 });
    expect(later.stats.header).toBe(false);
    expect(later.frames[0]!.events).toBe(2);
  });
});
