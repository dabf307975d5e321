// The raw WebSocket pieces of the load generator (bench/lib/ws-load): masked client frames that a
// real server (the `ws` package) reads back exactly, a reply parser that survives any split or
// coalescing, status counting, and frame pools whose timestamps keep rising across cycles.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameParser, type FrameSink } from '../../bench/lib/ws-load/frame-parser.js';
import { FramePool } from '../../bench/lib/ws-load/frame-pool.js';
import {
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  clientCloseFrame,
  clientTextFrame,
  encodeFrame,
  maskInPlace,
} from '../../bench/lib/ws-load/frames.js';
import { acceptFor, checkUpgradeResponse, openWebSocket } from '../../bench/lib/ws-load/handshake.js';
import { StatusCounter, allOkReply, outcomesOf } from '../../bench/lib/ws-load/statuses.js';

/** Decodes one whole client frame by hand: header fields and the unmasked payload. */
function decodeClientFrame(frame: Buffer): { fin: boolean; opcode: number; masked: boolean; lengthCode: number; payload: Buffer } {
  const lengthCode = frame[1]! & 0x7f;
  let offset = 2;
  let length = lengthCode;
  if (lengthCode === 126) {
    length = frame.readUInt16BE(2);
    offset = 4;
  } else if (lengthCode === 127) {
    length = Number(frame.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (frame[1]! & 0x80) !== 0;
  const key = masked ? frame.subarray(offset, offset + 4) : Buffer.alloc(4);
  if (masked) offset += 4;
  expect(frame.length).toBe(offset + length);
  const payload = Buffer.from(frame.subarray(offset));
  maskInPlace(payload, key);
  return { fin: (frame[0]! & 0x80) !== 0, opcode: frame[0]! & 0x0f, masked, lengthCode, payload };
}

/** Text of `bytes` ASCII characters, varied so that a masking mistake cannot cancel out. */
function text(bytes: number): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `${i % 10},${(i * 7) % 100},${i},robö-${i}\n`;
  return Buffer.from(s).subarray(0, bytes).toString('latin1');
}

describe('client frames', () => {
  it.each([
    [0, 0],
    [125, 125],
    [126, 126],
    [65_535, 126],
    [65_536, 127],
    [70_001, 127],
  ])('a %i-byte payload gets length code %i, the mask bit and a masked payload', (bytes, lengthCode) => {
    const payload = Buffer.from(text(bytes), 'latin1');
    const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const frame = encodeFrame(OPCODE_TEXT, payload, key);
    const decoded = decodeClientFrame(frame);
    expect(decoded).toMatchObject({ fin: true, opcode: OPCODE_TEXT, masked: true, lengthCode });
    expect(decoded.payload.equals(payload)).toBe(true);
    if (bytes >= 4) expect(frame.subarray(frame.length - bytes).equals(payload)).toBe(false);
  });

  it('puts a close code in a masked close frame', () => {
    const decoded = decodeClientFrame(clientCloseFrame(1000));
    expect(decoded).toMatchObject({ fin: true, opcode: OPCODE_CLOSE, masked: true, lengthCode: 2 });
    expect(decoded.payload.readUInt16BE(0)).toBe(1000);
  });
});

describe('the handshake', () => {
  it('computes Sec-WebSocket-Accept as in RFC 6455', () => {
    expect(acceptFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('refuses anything but a 101 with the right accept', () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const ok = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
    expect(checkUpgradeResponse(ok, key)).toBeNull();
    expect(checkUpgradeResponse(ok.replace('s3pP', 'x3pP'), key)).toMatch(/Sec-WebSocket-Accept/);
    expect(checkUpgradeResponse('HTTP/1.1 404 Not Found\r\nContent-Length: 0', key)).toMatch(/expected "HTTP\/1.1 101/);
    expect(checkUpgradeResponse(ok.replace('Upgrade: websocket', 'Upgrade: h2c'), key)).toMatch(/Upgrade header/);
  });
});

describe('against a real WebSocket server (ws)', () => {
  let server: WebSocketServer | undefined;

  afterEach(async () => {
    for (const client of server?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  it('reads exactly the text of our masked frames (7-, 16- and 64-bit lengths), gets pongs and a clean close, and sends what our parser reads', async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/upstream' });
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[WebSocket]>;
    const { socket, rest } = await openWebSocket('127.0.0.1', (server.address() as AddressInfo).port, '/upstream');
    const [peer] = await accepted;

    const received: string[] = [];
    const texts = [text(5), text(125), text(126), text(40_000), text(65_536), text(100_000), 'ünïcødé'];
    const allReceived = new Promise<void>((resolve) =>
      peer.on('message', (data, isBinary) => {
        expect(isBinary).toBe(false);
        received.push(String(data));
        if (received.length === texts.length) resolve();
      }),
    );
    // Coalesced into one write, then byte by byte for the last one: the server must not care.
    socket.write(Buffer.concat(texts.slice(0, -1).map((t) => clientTextFrame(t))));
    const last = clientTextFrame(texts.at(-1)!);
    for (let i = 0; i < last.length; i++) socket.write(last.subarray(i, i + 1));
    await allReceived;
    expect(received).toEqual(texts);

    // Server → us: texts of every length class and a ping, which we answer with a masked pong.
    const got: string[] = [];
    const pings: Buffer[] = [];
    const sink: FrameSink = {
      onMessage: (_op, data, start, end) => got.push(data.toString('utf8', start, end)),
      onPing: (payload) => pings.push(payload),
      onClose: () => undefined,
    };
    const parser = new FrameParser(sink);
    parser.push(rest);
    const replies = [text(3), text(300), text(70_000)];
    const gotAll = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        if (got.length === replies.length && pings.length === 1) resolve();
      }),
    );
    socket.resume();
    for (const reply of replies) peer.send(reply);
    peer.ping(Buffer.from('are you there'));
    await gotAll;
    expect(got).toEqual(replies);
    const pong = once(peer, 'pong') as Promise<[Buffer]>;
    socket.write(encodeFrame(OPCODE_PONG, pings[0]!, Buffer.from([1, 2, 3, 4])));
    expect(String((await pong)[0])).toBe('are you there');

    const closed = once(peer, 'close') as Promise<[number, Buffer]>;
    socket.write(clientCloseFrame(1000));
    expect((await closed)[0]).toBe(1000);
    socket.destroy();
  });
});

describe('FrameParser', () => {
  type Seen = [string, string];
  function collect(): { sink: FrameSink; seen: Seen[] } {
    const seen: Seen[] = [];
    return {
      seen,
      sink: {
        onMessage: (opcode, data, start, end) => seen.push([opcode === OPCODE_TEXT ? 'text' : 'binary', data.toString('latin1', start, end)]),
        onPing: (payload) => seen.push(['ping', payload.toString('latin1')]),
        onClose: (code, reason) => seen.push(['close', `${code} ${reason}`]),
      },
    };
  }

  const server = (opcode: number, payload: string, fin = true): Buffer => {
    const frame = encodeFrame(opcode, Buffer.from(payload, 'latin1'));
    if (!fin) frame[0] = frame[0]! & 0x7f;
    return frame;
  };
  const small = [
    server(OPCODE_TEXT, 'OK\nOK\nOK'),
    server(OPCODE_TEXT, ''),
    server(OPCODE_PING, 'p'),
    server(OPCODE_TEXT, text(200)),
    server(OPCODE_TEXT, 'frag-1,', false),
    server(OPCODE_PING, 'between fragments'),
    server(OPCODE_CONTINUATION, 'frag-2,', false),
    server(OPCODE_CONTINUATION, 'frag-3'),
    server(OPCODE_BINARY, 'bin'),
    encodeFrame(OPCODE_CLOSE, Buffer.concat([Buffer.from([0x03, 0xe9]), Buffer.from('bye')])),
  ];
  const expected: Seen[] = [
    ['text', 'OK\nOK\nOK'],
    ['text', ''],
    ['ping', 'p'],
    ['text', text(200)],
    ['ping', 'between fragments'],
    ['text', 'frag-1,frag-2,frag-3'],
    ['binary', 'bin'],
    ['close', '1001 bye'],
  ];
  const stream = Buffer.concat(small);

  it('reads coalesced frames from one chunk', () => {
    const { sink, seen } = collect();
    new FrameParser(sink).push(stream);
    expect(seen).toEqual(expected);
  });

  it('reads the same whatever two points the stream is split at', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b += 7) {
        const { sink, seen } = collect();
        const parser = new FrameParser(sink);
        parser.push(stream.subarray(0, a));
        parser.push(stream.subarray(a, b));
        parser.push(stream.subarray(b));
        expect(seen).toEqual(expected);
      }
    }
  });

  it('reads 16- and 64-bit lengths one byte at a time and in random chunks', () => {
    const big = [server(OPCODE_TEXT, text(126)), server(OPCODE_TEXT, text(65_535)), server(OPCODE_TEXT, text(65_536)), server(OPCODE_TEXT, text(150_000)), server(OPCODE_TEXT, 'OK')];
    expect(big.map((f) => f[1]! & 0x7f)).toEqual([126, 126, 127, 127, 2]);
    const want: Seen[] = [text(126), text(65_535), text(65_536), text(150_000), 'OK'].map((t) => ['text', t]);
    const all = Buffer.concat(big);
    const bytewise = collect();
    const parser = new FrameParser(bytewise.sink);
    for (let i = 0; i < all.length; i++) parser.push(all.subarray(i, i + 1));
    expect(bytewise.seen).toEqual(want);
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      const chunked = collect();
      const p = new FrameParser(chunked.sink);
      for (let at = 0; at < all.length; ) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const size = 1 + (seed % (round % 2 === 0 ? 20 : 40_000));
        p.push(all.subarray(at, at + size));
        at += size;
      }
      expect(chunked.seen).toEqual(want);
    }
  });

  it('unmasks a masked frame, and refuses reserved bits and oversized control frames', () => {
    const { sink, seen } = collect();
    new FrameParser(sink).push(clientTextFrame('masked OK'));
    expect(seen).toEqual([['text', 'masked OK']]);
    const rsv = server(OPCODE_TEXT, 'x');
    rsv[0] = rsv[0]! | 0x40;
    expect(() => new FrameParser(collect().sink).push(rsv)).toThrow(/reserved bits/);
    expect(() => new FrameParser(collect().sink).push(server(OPCODE_PING, text(126)))).toThrow(/control frame/);
  });
});

describe('StatusCounter', () => {
  it('counts an all-OK reply by its bytes, and any other reply line by line', () => {
    const counter = new StatusCounter(allOkReply(3));
    const reply = (s: string): number => {
      const b = Buffer.from(`xx${s}yy`);
      return counter.count(b, 2, b.length - 2);
    };
    expect(reply('OK\nOK\nOK')).toBe(3);
    expect(reply('OK\nDUP\nSTALE')).toBe(3);
    expect(reply('OK\r\nERR timestamp must be digits\nERR timestamp must be digits')).toBe(3);
    expect(reply('ERR frame exceeds 10 bytes')).toBe(1);
    expect(reply('OK\nOK')).toBe(2);
    expect(outcomesOf(counter.counts)).toEqual({ OK: 7, DUP: 1, STALE: 1, 'ERR timestamp must be digits': 2, 'ERR frame exceeds 10 bytes': 1 });
  });
});

describe('FramePool', () => {
  /** Checks frames `numbers` of a pool in that order; returns the first problem found, or null. */
  function check(robots: number, connections: number, connection: number, eventsPerFrame: number, numbers: Iterable<number>): string | null {
    const pool = new FramePool({ runId: 'r', connection, connections, robots, eventsPerFrame });
    const last = new Map<string, number>();
    let n = 0;
    for (const frame of numbers) {
      const copy = pool.take(frame);
      const lines = decodeClientFrame(copy.buf).payload.toString('utf8').split('\n');
      if (lines.length !== pool.eventsIn(frame)) return `frame ${frame}: ${lines.length} lines, expected ${pool.eventsIn(frame)}`;
      if (pool.eventsPerCycle % eventsPerFrame === 0 && lines.length !== eventsPerFrame) return `frame ${frame}: ${lines.length} events`;
      for (const line of lines) {
        const [x, y, ts, name, extra] = line.split(',');
        const robot = Number(name?.slice('bench-r-'.length));
        const t = Number(ts);
        if (extra !== undefined || !Number.isFinite(Number(x)) || !Number.isFinite(Number(y))) return `frame ${frame}: bad line "${line}"`;
        if (!(robot % connections === connection && robot < robots)) return `frame ${frame}: robot ${robot} is not this connection's`;
        if (!/^[1-9]\d*$/.test(ts!) || !Number.isSafeInteger(t)) return `frame ${frame}: bad timestamp "${ts}"`;
        if (t <= (last.get(name!) ?? -1)) return `frame ${frame}: ${name} went from ${last.get(name!)} to ${t}`;
        last.set(name!, t);
      }
      if (n++ % 3 !== 0) pool.release(copy); // keep some copies outstanding, as a socket would
    }
    if (last.size !== Math.ceil((robots - connection) / connections)) return `${last.size} robots seen`;
    return null;
  }

  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

  it.each([
    // robots, connections, connection, events per frame
    [20, 2, 1, 5],
    [3, 3, 2, 4],
    [1000, 8, 3, 100],
    [8, 8, 5, 1],
  ])('%i robots over %i connections (#%i), %i per frame: own robots only, timestamps rising through every carry of the cycle digits', (robots, connections, connection, eventsPerFrame) => {
    const slots = new FramePool({ runId: 'r', connection, connections, robots, eventsPerFrame }).slots;
    // Cycles 0 … 1,100 one frame after another (carries 9 → 10, 99 → 100, 999 → 1000), then jumps.
    const jumps = [5_000, 99_999, 100_000, 1_234_567].flatMap((cycle) => range(cycle * slots, (cycle + 1) * slots));
    expect(check(robots, connections, connection, eventsPerFrame, [...range(0, slots * 1_101), ...jumps])).toBeNull();
  });

  it('ends a cycle on a shorter frame when the exact cycle would be huge, and still never repeats a timestamp', () => {
    const pool = new FramePool({ runId: 'r', connection: 0, connections: 8, robots: 99_991 * 8, eventsPerFrame: 100 });
    expect(pool.eventsPerCycle).toBe(99_991);
    expect(pool.eventsIn(pool.slots - 1)).toBe(91);
    expect(check(99_991 * 8, 8, 0, 100, range(0, pool.slots * 2 + 3))).toBeNull();
  });
});
