// A WebSocket opening handshake by hand over a raw TCP socket (RFC 6455 §4): send the HTTP/1.1
// upgrade request, read the response head, insist on 101 and the right Sec-WebSocket-Accept.

import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

/** The Sec-WebSocket-Accept a server must answer to `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** `token`, when given, goes in `Authorization: Bearer` (a service with authentication on wants one). */
export function upgradeRequest(host: string, port: number, path: string, key: string, token?: string): string {
  return (
    `GET ${path} HTTP/1.1\r\n` +
    `Host: ${host}:${port}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    (token === undefined ? '' : `Authorization: Bearer ${token}\r\n`) +
    '\r\n'
  );
}

/** Checks a response head (status line and headers, without the blank line); returns why it is not an upgrade, or null. */
export function checkUpgradeResponse(head: string, key: string): string | null {
  const [statusLine = '', ...lines] = head.split('\r\n');
  if (!/^HTTP\/1\.1 101\b/.test(statusLine)) return `expected "HTTP/1.1 101 Switching Protocols", got "${statusLine}"`;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return `Upgrade header is "${headers.get('upgrade') ?? ''}"`;
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get('connection') ?? '')) return `Connection header is "${headers.get('connection') ?? ''}"`;
  const accept = headers.get('sec-websocket-accept');
  if (accept !== acceptFor(key)) return `Sec-WebSocket-Accept is "${accept ?? ''}", expected "${acceptFor(key)}"`;
  if (headers.has('sec-websocket-extensions')) return `server negotiated extensions "${headers.get('sec-websocket-extensions')}" that were not offered`;
  return null;
}

export interface OpenSocket {
  /** Paused, with Nagle off; attach a 'data' listener, then resume(). */
  readonly socket: Socket;
  /** Bytes that came after the response head (already WebSocket frames). */
  readonly rest: Buffer;
}

/** Connects and upgrades, within `timeoutMs`. */
export function openWebSocket(host: string, port: number, path: string, timeoutMs = 10_000, token?: string): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    let received: Buffer = Buffer.alloc(0);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`websocket handshake with ${host}:${port}${path} took over ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > MAX_RESPONSE_HEAD_BYTES) fail(new Error('websocket handshake: response head too long'));
        return;
      }
      const problem = checkUpgradeResponse(received.toString('latin1', 0, end), key);
      if (problem !== null) return fail(new Error(`websocket handshake with ${host}:${port}${path}: ${problem}`));
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('error', fail);
      socket.off('close', onClose);
      resolve({ socket, rest: received.subarray(end + 4) });
    };
    const onClose = (): void => fail(new Error(`websocket handshake with ${host}:${port}${path}: connection closed`));
    socket.once('connect', () => socket.write(upgradeRequest(host, port, path, key, token)));
    socket.on('data', onData);
    socket.on('error', fail);
    socket.on('close', onClose);
  });
}
