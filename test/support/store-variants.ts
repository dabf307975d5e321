// The logs a service can run on, as test fixtures: each sets up an empty log and says how to point
// a service at it. End-to-end suites run once per variant.

import { makeTempDir } from './temp-dir.js';

export interface StoreFixture {
  /** Environment for a service using this log (TELEMETRY_DATA_DIR is always set, for the sqlite file or unused). */
  readonly env: Record<string, string>;
  cleanup(): Promise<void>;
}

export interface StoreVariant {
  readonly name: string;
  setup(): Promise<StoreFixture>;
}

const sqlite: StoreVariant = {
  name: 'sqlite',
  async setup() {
    const dir = makeTempDir();
    return { env: { TELEMETRY_DATA_DIR: dir.path }, cleanup: async () => dir.remove() };
  },
};

export function storeVariants(): StoreVariant[] {
  return [sqlite];
}
