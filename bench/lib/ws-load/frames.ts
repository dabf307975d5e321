// RFC 6455 frame encoding for a client: FIN + opcode, mask bit, 4-byte masking key, masked payload,
// with 7-, 16- or 64-bit payload lengths. Masking happens here, once, when a frame is built; the
// load loop only ever writes finished bytes.

import { randomFillSync } from 'node:crypto';

export const OPCODE_CONTINUATION = 0x0;
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

/** Bytes of the frame header before the payload: 2, plus 2 or 8 for the extended length, plus 4 for a mask. */
export function headerLength(payloadLength: number, masked: boolean): number {
  const extended = payloadLength < 126 ? 0 : payloadLength <= 0xffff ? 2 : 8;
  return 2 + extended + (masked ? 4 : 0);
}

/** A fresh random 4-byte masking key. */
export function randomMaskKey(): Buffer {
  return randomFillSync(Buffer.allocUnsafe(4));
}

/** XORs `buf[start, end)` with `key`, the key's byte 0 lining up with `start` (masking is its own inverse). */
export function maskInPlace(buf: Uint8Array, key: Uint8Array, start = 0, end = buf.length): void {
  const k0 = key[0]!, k1 = key[1]!, k2 = key[2]!, k3 = key[3]!;
  let i = start;
  for (; i + 3 < end; i += 4) {
    buf[i] = buf[i]! ^ k0;
    buf[i + 1] = buf[i + 1]! ^ k1;
    buf[i + 2] = buf[i + 2]! ^ k2;
    buf[i + 3] = buf[i + 3]! ^ k3;
  }
  for (let j = 0; i < end; i++, j++) buf[i] = buf[i]! ^ key[j]!;
}

/**
 * One complete frame (FIN set). With `maskKey` the frame is a client frame: mask bit set, the key
 * after the length, the payload XOR-masked. Without it, an unmasked (server-style) frame.
 */
export function encodeFrame(opcode: number, payload: Uint8Array, maskKey?: Uint8Array): Buffer {
  const length = payload.length;
  const masked = maskKey !== undefined;
  const header = headerLength(length, masked);
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x80 | (opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  let offset = 2;
  if (length < 126) {
    frame[1] = maskBit | length;
  } else if (length <= 0xffff) {
    frame[1] = maskBit | 126;
    frame.writeUInt16BE(length, 2);
    offset = 4;
  } else {
    frame[1] = maskBit | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
    offset = 10;
  }
  if (masked) {
    frame.set(maskKey.subarray(0, 4), offset);
    offset += 4;
  }
  frame.set(payload, offset);
  if (masked) maskInPlace(frame, maskKey, offset, offset + length);
  return frame;
}

/** A masked client text frame of `text`, with a random key unless one is given. */
export function clientTextFrame(text: string | Uint8Array, maskKey: Uint8Array = randomMaskKey()): Buffer {
  return encodeFrame(OPCODE_TEXT, typeof text === 'string' ? Buffer.from(text, 'utf8') : text, maskKey);
}

/** A masked client close frame carrying `code` (1000: normal closure). */
export function clientCloseFrame(code = 1000): Buffer {
  const body = Buffer.allocUnsafe(2);
  body.writeUInt16BE(code, 0);
  return encodeFrame(OPCODE_CLOSE, body, randomMaskKey());
}
