// The service as its own process (`node --import tsx src/cli.ts`), for signals, kill -9 and
// start-up failures. Ports come from its structured log.

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface SpawnedService {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  readonly stderr: () => string;
  /** Resolves with the ports once both listeners are up. */
  readonly listening: Promise<{ ingestPort: number; httpPort: number }>;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line whose msg matches. */
  waitForLog(pattern: RegExp): Promise<Record<string, unknown>>;
}

export function spawnService(env: Record<string, string>, args: string[] = []): SpawnedService {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEMETRY_INGEST_PORT: '0',
      TELEMETRY_HTTP_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const watchers: Array<{ pattern: RegExp; resolve: (line: Record<string, unknown>) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    lines.push(line);
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(String(line.msg))) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitForLog = (pattern: RegExp) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find((line) => pattern.test(String(line.msg)));
      if (seen !== undefined) return resolve(seen);
      watchers.push({ pattern, resolve });
      void exited.then(({ code, signal }) =>
        reject(new Error(`service exited (${code ?? signal}) before logging ${pattern}; stderr: ${stderr}`)),
      );
    });
  const listening = waitForLog(/^telemetry service listening$/).then((line) => ({
    ingestPort: Number(line.ingestPort),
    httpPort: Number(line.httpPort),
  }));
  const ready = waitForLog(/^telemetry service ready$/).then(() => undefined);
  listening.catch(() => undefined);
  ready.catch(() => undefined);
  return { child, lines, stderr: () => stderr, listening, ready, exited, waitForLog };
}

/**
 * `start(env, args)` for a test file: every service it spawns is killed (SIGKILL, if still running)
 * and awaited after each test. Register it before other afterEach hooks that need the services gone.
 */
export function useSpawnedServices(): (env: Record<string, string>, args?: string[]) => SpawnedService {
  const services: SpawnedService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
      await service.exited;
    }
  });
  return (env, args = []) => {
    const service = spawnService(env, args);
    services.push(service);
    return service;
  };
}
