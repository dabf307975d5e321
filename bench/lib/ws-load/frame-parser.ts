// Incremental RFC 6455 frame parser for what a server sends: frames may arrive split at any byte or
// several to a TCP chunk. A frame wholly inside one chunk is handed on as a view of that chunk (no
// copy); only a frame split across chunks is assembled into its own buffer. Fragmented messages
// (continuation frames) are joined; control frames may come between their fragments.

import { OPCODE_BINARY, OPCODE_CLOSE, OPCODE_CONTINUATION, OPCODE_PING, OPCODE_PONG, OPCODE_TEXT, maskInPlace } from './frames.js';

export interface FrameSink {
  /** A complete text or binary message: `data[start, end)`, valid only during the call. */
  onMessage(opcode: number, data: Buffer, start: number, end: number): void;
  /** A ping; `payload` is the sink's to keep (answer it with a pong carrying the same bytes). */
  onPing(payload: Buffer): void;
  /** A close frame: its status code (undefined when the frame carried none) and reason. */
  onClose(code: number | undefined, reason: string): void;
}

/** Messages larger than this are a protocol error here: the ingest server never sends them. */
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const MAX_HEADER_BYTES = 14;

export class FrameParser {
  // A header split across chunks is gathered here.
  private readonly head = Buffer.allocUnsafe(MAX_HEADER_BYTES);
  private headFilled = 0;
  // The decoded header of the frame whose payload is being read.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private readonly maskKey = Buffer.allocUnsafe(4);
  private payloadLength = 0;
  // A payload split across chunks is assembled here.
  private body: Buffer | null = null;
  private bodyFilled = 0;
  // A fragmented message in progress.
  private fragmentOpcode = -1;
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {}

  /** Feeds bytes as they arrived. A masked payload in `chunk` is unmasked in place. Throws on a protocol error. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.body !== null) {
        const take = Math.min(n - pos, this.body.length - this.bodyFilled);
        chunk.copy(this.body, this.bodyFilled, pos, pos + take);
        this.bodyFilled += take;
        pos += take;
        if (this.bodyFilled === this.body.length) {
          const body = this.body;
          this.body = null;
          this.payload(body, 0, body.length, true);
        }
        continue;
      }
      if (this.headFilled > 0) {
        const before = this.headFilled;
        const copied = chunk.copy(this.head, before, pos, Math.min(n, pos + MAX_HEADER_BYTES - before));
        const headerBytes = this.decodeHeader(this.head, 0, before + copied);
        if (headerBytes < 0) {
          this.headFilled = before + copied;
          return;
        }
        this.headFilled = 0;
        pos += headerBytes - before;
      } else {
        const headerBytes = this.decodeHeader(chunk, pos, n - pos);
        if (headerBytes < 0) {
          this.headFilled = chunk.copy(this.head, 0, pos, n);
          return;
        }
        pos += headerBytes;
      }
      const length = this.payloadLength;
      if (n - pos >= length) {
        this.payload(chunk, pos, pos + length, false);
        pos += length;
      } else {
        this.body = Buffer.allocUnsafe(length);
        this.bodyFilled = chunk.copy(this.body, 0, pos, n);
        pos = n;
      }
    }
    // A zero-length payload whose header ended exactly at the chunk's end was handled in the loop.
  }

  /** Header length when `buf[at, at + avail)` holds a whole header (and records it), else -1. */
  private decodeHeader(buf: Buffer, at: number, avail: number): number {
    if (avail < 2) return -1;
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const headerBytes = 2 + extended + (masked ? 4 : 0);
    if (avail < headerBytes) return -1;
    if ((b0 & 0x70) !== 0) throw new Error('websocket protocol error: reserved bits set (no extension was negotiated)');
    let length = len7;
    if (len7 === 126) length = buf.readUInt16BE(at + 2);
    else if (len7 === 127) {
      const big = buf.readBigUInt64BE(at + 2);
      if (big > BigInt(this.maxMessageBytes)) throw new Error(`websocket frame of ${big} bytes exceeds ${this.maxMessageBytes}`);
      length = Number(big);
    }
    if (length > this.maxMessageBytes) throw new Error(`websocket frame of ${length} bytes exceeds ${this.maxMessageBytes}`);
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode >= 0x8 && (!fin || length > 125)) throw new Error('websocket protocol error: fragmented or oversized control frame');
    if (masked) buf.copy(this.maskKey, 0, at + 2 + extended, at + headerBytes);
    this.fin = fin;
    this.opcode = opcode;
    this.masked = masked;
    this.payloadLength = length;
    return headerBytes;
  }

  private payload(data: Buffer, start: number, end: number, owned: boolean): void {
    if (this.masked) maskInPlace(data, this.maskKey, start, end);
    const opcode = this.opcode;
    switch (opcode) {
      case OPCODE_TEXT:
      case OPCODE_BINARY:
        if (this.fragmentOpcode !== -1) throw new Error('websocket protocol error: new message inside a fragmented one');
        if (this.fin) this.sink.onMessage(opcode, data, start, end);
        else {
          this.fragmentOpcode = opcode;
          this.addFragment(data, start, end, owned);
        }
        return;
      case OPCODE_CONTINUATION: {
        if (this.fragmentOpcode === -1) throw new Error('websocket protocol error: continuation without a message');
        this.addFragment(data, start, end, owned);
        if (!this.fin) return;
        const whole = Buffer.concat(this.fragments, this.fragmentBytes);
        const messageOpcode = this.fragmentOpcode;
        this.fragments = [];
        this.fragmentBytes = 0;
        this.fragmentOpcode = -1;
        this.sink.onMessage(messageOpcode, whole, 0, whole.length);
        return;
      }
      case OPCODE_PING:
        this.sink.onPing(Buffer.from(data.subarray(start, end)));
        return;
      case OPCODE_PONG:
        return;
      case OPCODE_CLOSE: {
        const code = end - start >= 2 ? data.readUInt16BE(start) : undefined;
        this.sink.onClose(code, end - start > 2 ? data.toString('utf8', start + 2, end) : '');
        return;
      }
      default:
        throw new Error(`websocket protocol error: unknown opcode ${opcode}`);
    }
  }

  private addFragment(data: Buffer, start: number, end: number, owned: boolean): void {
    this.fragmentBytes += end - start;
    if (this.fragmentBytes > this.maxMessageBytes) throw new Error(`websocket message exceeds ${this.maxMessageBytes} bytes`);
    this.fragments.push(owned ? data.subarray(start, end) : Buffer.from(data.subarray(start, end)));
  }
}
