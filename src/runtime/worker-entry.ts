// Where a worker thread's entry file is, whether we run compiled (dist/) or from TypeScript sources.
// From sources (tests, `tsx`), workers load through tsx's loader; compiled, they are plain JS.

import { fileURLToPath } from 'node:url';

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
