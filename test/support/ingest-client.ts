// A WebSocket ingest client for tests: send a frame, await its reply (replies arrive in frame order).

import WebSocket from 'ws';

export class IngestClient {
  private readonly waiting: Array<{ resolve: (reply: string) => void; reject: (error: Error) => void }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const next = this.waiting.shift();
      if (next === undefined) throw new Error(`unexpected reply ${String(data)}`);
      next.resolve(String(data));
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        for (const next of this.waiting.splice(0)) next.reject(new Error(`socket closed (${code}) before the reply`));
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static connect(port: number, path = '/upstream', headers: Record<string, string> = {}): Promise<IngestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
      ws.once('open', () => resolve(new IngestClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends a frame; resolves with its reply frame. */
  send(frame: string | Buffer, options: { binary?: boolean } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.ws.send(frame, { binary: options.binary ?? false });
    });
  }

  /** Sends one event per line and returns one status per event. */
  async sendEvents(lines: readonly string[]): Promise<string[]> {
    return (await this.send(lines.join('\n'))).split('\n');
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await this.closed;
  }
}
