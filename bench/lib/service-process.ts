// Starts the service as its own process for benchmarks, and stops it: the compiled service
// (dist/src/cli.js) when this module runs compiled, as benchmarks should; the TypeScript sources
// through tsx when it runs from sources (the tests that check the benchmarks run).

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fromSources = import.meta.url.endsWith('.ts');

export const ROOT = fileURLToPath(new URL(fromSources ? '../..' : '../../..', import.meta.url));

/** Node arguments that run `script` (a path under the project, without extension) compiled or from sources. */
export function nodeArgs(script: string): string[] {
  return fromSources ? ['--import', 'tsx', join(ROOT, `${script}.ts`)] : [join(ROOT, 'dist', `${script}.js`)];
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly ingestPort: number;
  readonly httpPort: number;
  /** Milliseconds from spawn to /healthz 200. */
  readonly readyMs: number;
  stop(): Promise<void>;
}

/** Starts the service with `env`; rejects if it exits before it is ready. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, nodeArgs('src/cli'), {
    // The ports come from the `listening` line, logged at info.
    env: { ...process.env, TELEMETRY_INGEST_PORT: '0', TELEMETRY_HTTP_PORT: '0', ...env, TELEMETRY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let buffered = '';
  const ports = await new Promise<{ ingestPort: number; httpPort: number }>((resolve, reject) => {
    const onData = (data: Buffer) => {
      buffered += data.toString();
      const match = /"ingestPort":(\d+),"httpPort":(\d+)/.exec(buffered);
      if (match) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({ ingestPort: Number(match[1]), httpPort: Number(match[2]) });
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening`)));
  });
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${ports.httpPort}/healthz`).catch(() => null);
    if (response?.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const readyMs = performance.now() - started;
  return {
    child,
    ...ports,
    readyMs,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`service exited with ${code} on SIGTERM`);
    },
  };
}
