// Where a worker thread's entry file is, whether we run compiled (dist/) or from TypeScript sources.
// From sources (tests, `tsx`), workers load through tsx's loader; compiled, they are plain JS.

import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const fromSources = import.meta.url.endsWith('.ts');

export interface WorkerEntry {
  readonly filename: string;
  readonly execArgv: string[];
}

/** The entry of `workers/<name>`. */
export function workerEntry(name: string): WorkerEntry {
  const url = new URL(`../../workers/${name}${fromSources ? '.ts' : '.js'}`, import.meta.url);
  return { filename: fileURLToPath(url), execArgv: fromSources ? ['--import', 'tsx'] : [] };
}

/**
 * A plain worker thread on `workers/<name>`. From sources, Node 20 will not load a .ts worker file
 * even with `--import tsx` (that works for piscina, which loads its tasks through require), so the
 * thread starts from a one-line bootstrap that registers tsx's loader and then imports the entry.
 */
export function startWorker(name: string, options: Omit<WorkerOptions, 'eval' | 'execArgv'> = {}): Worker {
  const entry = workerEntry(name);
  if (!fromSources) return new Worker(entry.filename, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(entry.filename).href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
