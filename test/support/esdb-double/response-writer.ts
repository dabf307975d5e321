// Writes ReadResp messages to one server-streaming call with back-pressure: a write that fills the
// transport's buffer waits for 'drain'. Once the client cancels (or the server drops the call),
// writes become no-ops and `open` turns false, so pumps stop on their own.

import type { ServerWritableStream } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { ReadReq, ReadResp } from './protocol.js';

export type ReadCall = ServerWritableStream<ReadReq, ReadResp>;

export class ResponseWriter {
  private closed = false;
  private readonly closeListeners = new Set<() => void>();

  constructor(private readonly call: ReadCall) {
    const close = () => this.markClosed();
    call.once('cancelled', close);
    call.once('close', close);
  }

  get open(): boolean {
    return !this.closed && !this.call.cancelled;
  }

  /** Undefined when the message fit in the buffer; else resolves once the transport drained (or the call closed). */
  write(message: ReadResp): Promise<void> | undefined {
    if (!this.open) return undefined;
    if (this.call.write(message)) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.call.off('drain', done);
        this.closeListeners.delete(done);
        resolve();
      };
      this.call.on('drain', done);
      this.closeListeners.add(done);
    });
  }

  /** Ends the call with status OK. */
  end(): void {
    if (!this.open) return;
    this.closed = true;
    this.call.end();
  }

  /** Ends the call with an error status. */
  fail(code: status, details: string): void {
    if (!this.open) return;
    this.closed = true;
    this.call.emit('error', Object.assign(new Error(details), { code, details }));
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.add(listener);
  }

  private markClosed(): void {
    this.closed = true;
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) listener();
  }
}
