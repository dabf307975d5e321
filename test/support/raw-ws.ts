// A WebSocket client on a bare TCP socket, for what a well-behaved library will not do: never read
// replies (back-pressure), send bytes that are not valid UTF-8 in a text frame, or frames built
// byte by byte. Frames are masked, as RFC 6455 requires of a client.

import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

/** One complete, masked client frame. */
export function clientFrame(payload: Buffer, opcode = OPCODE_TEXT): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) header[1] = 0x80 | length;
  else if (length < 65536) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const masked = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([header, mask, masked]);
}

/** Opens ws://127.0.0.1:port/upstream by hand; resolves once the 101 has been read, with the socket paused. */
export function rawUpgrade(port: number, headers: Record<string, string> = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      if (!seen.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${seen.slice(0, end)}`));
        return;
      }
      // Anything after the 101 already belongs to the WebSocket stream: give it back.
      if (end + 4 < seen.length) socket.unshift(Buffer.from(seen.slice(end + 4), 'latin1'));
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(
        'GET /upstream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      );
    });
  });
}
