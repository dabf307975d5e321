// The logs a service can run on, as test fixtures: each sets up an empty log and says how to point
// a service at it. End-to-end suites run once per variant, so the service on EventStoreDB (here, the
// wire-level double) passes the same suite as on the embedded log.

import { startEsdbDouble } from './esdb-double/index.js';
import { makeTempDir } from './temp-dir.js';

export interface StoreFixture {
  /** Environment for a service on this log. */
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

const eventStoreDouble: StoreVariant = {
  name: 'eventstoredb (double)',
  async setup() {
    const dir = makeTempDir(); // the service still wants a data dir; nothing is written there
    const double = await startEsdbDouble();
    return {
      env: {
        TELEMETRY_DATA_DIR: dir.path,
        TELEMETRY_STORE: 'eventstoredb',
        EVENTSTORE_CONNECTION_STRING: double.connectionString,
      },
      cleanup: async () => {
        await double.close();
        dir.remove();
      },
    };
  },
};

export function storeVariants(): StoreVariant[] {
  return [sqlite, eventStoreDouble];
}
