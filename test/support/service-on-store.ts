// Per-test lifecycle of a service on a fresh log of one store variant: an empty log before each
// test, the service (if started) closed and the log removed after it.

import { afterEach, beforeEach } from 'vitest';
import { startTestService, type TestService } from './in-process-service.js';
import type { StoreFixture, StoreVariant } from './store-variants.js';

export interface ServiceOnStore {
  readonly store: StoreFixture;
  /** The running service; throws when none was started. */
  readonly service: TestService;
  /** (Re)starts the service on the same log, with extra environment. */
  restart(env?: Record<string, string>): Promise<TestService>;
  /** Stops the service, leaving the log in place. */
  stop(): Promise<void>;
}

export function serviceOnStore(variant: StoreVariant): ServiceOnStore {
  let store: StoreFixture | undefined;
  let service: TestService | undefined;
  beforeEach(async () => {
    store = await variant.setup();
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    await store?.cleanup();
    store = undefined;
  });
  const fixture: ServiceOnStore = {
    get store() {
      if (store === undefined) throw new Error('no store: call inside a test');
      return store;
    },
    get service() {
      if (service === undefined) throw new Error('no service: call restart() first');
      return service;
    },
    async restart(env = {}) {
      await fixture.stop();
      service = await startTestService({ ...fixture.store.env, ...env });
      return service;
    },
    async stop() {
      await service?.close();
      service = undefined;
    },
  };
  return fixture;
}
