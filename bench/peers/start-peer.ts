// Starts a comparison peer for the ingest benchmark in its own process, as the service runs in its
// own: the compiled dist/bench/peers/<name>-server.js when this module is itself compiled, else the
// TypeScript source through tsx. Resolves with the port from the peer's `{"port":N}` line.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export type PeerName = 'limit' | 'ws-peer' | 'seed-style';

export interface StartPeerOptions {
  /** Where a storing peer keeps its files (the limit ignores it). */
  readonly dataDir: string;
  /** Give up (and kill the peer) if it has not printed its port by then. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** Kill the peer and reject if it has not exited by then after SIGTERM. Default 30 s. */
  readonly stopTimeoutMs?: number;
  /** Added to the peer's environment (the service's TELEMETRY_* settings it takes). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunningPeer {
  readonly port: number;
  /** SIGTERM, then resolves once the peer exits 0; rejects (with its stderr) otherwise. Idempotent. */
  stop(): Promise<void>;
}

const COMPILED = import.meta.url.endsWith('.js');
// bench/peers/ → the repository root, from which tsx resolves; unused when compiled.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STDERR_KEPT = 64 * 1024;

export function peerEntry(name: PeerName): string {
  return fileURLToPath(new URL(`./${name}-server.${COMPILED ? 'js' : 'ts'}`, import.meta.url));
}

export function startPeer(name: PeerName, options: StartPeerOptions): Promise<RunningPeer> {
  const args = [...(COMPILED ? [] : ['--import', 'tsx']), peerEntry(name), '--port', '0', '--data-dir', options.dataDir];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > STDERR_KEPT) stderr = stderr.slice(-STDERR_KEPT);
  });
  // 'close' rather than 'exit': it comes once stderr is fully read, so failures can quote it.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const describe = (what: string) => `${name} peer ${what}${stderr.trim() === '' ? '' : `; stderr:\n${stderr.trim()}`}`;

  const port = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(describe(`printed no port within ${options.startTimeoutMs ?? 30_000} ms`)));
    }, options.startTimeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      // Keep draining stdout so a chatty peer never blocks on a full pipe.
      lines.on('line', () => undefined);
      const parsed: unknown = (() => {
        try {
          return JSON.parse(line);
        } catch {
          return undefined;
        }
      })();
      const value = (parsed as { port?: unknown } | undefined)?.port;
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) return resolve(value);
      child.kill('SIGKILL');
      reject(new Error(describe(`printed ${JSON.stringify(line)} instead of {"port":N}`)));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(describe(`exited (${code ?? signal}) before listening`)));
    });
  });

  return port.then((bound) => {
    let stopping: Promise<void> | undefined;
    const stop = async (): Promise<void> => {
      child.kill('SIGTERM');
      const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        exited,
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(describe(`did not exit within ${stopTimeoutMs} ms of SIGTERM (killed)`));
      }
      if (outcome.code !== 0) throw new Error(describe(`exited with ${outcome.code ?? outcome.signal} on SIGTERM`));
    };
    return {
      port: bound,
      stop: () => (stopping ??= stop()),
    };
  });
}
