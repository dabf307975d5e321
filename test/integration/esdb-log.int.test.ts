// The EventStoreDB adapter through the shared EventLog contract: against the wire-level double
// always, and against a real server when EVENTSTORE_CONNECTION_STRING is set. On a real (shared,
// non-empty) server every fixture works in a stream-name namespace of its own.

import { randomUUID } from 'node:crypto';
import { describe } from 'vitest';
import { EsdbEventLog } from '../../src/store/eventstoredb/esdb-event-log.js';
import { eventLogContract } from '../contract/event-log.contract.js';
import { startEsdbDouble } from '../support/esdb-double/index.js';

eventLogContract('EsdbEventLog on the wire-level double', async () => {
  const double = await startEsdbDouble();
  const log = new EsdbEventLog({ connectionString: double.connectionString, deadlineMs: 5000 });
  return {
    log,
    cleanup: async () => {
      await log.close();
      await double.close();
    },
  };
});

const realServer = process.env.EVENTSTORE_CONNECTION_STRING;
if (realServer === undefined) {
  describe.skip('EsdbEventLog on a real EventStoreDB: skipped, EVENTSTORE_CONNECTION_STRING is not set', () => {});
  console.info('[esdb-log] real-server contract skipped: set EVENTSTORE_CONNECTION_STRING (e.g. esdb://127.0.0.1:2113?tls=false) to run it');
} else {
  eventLogContract(`EsdbEventLog on ${realServer}`, async () => {
    const log = new EsdbEventLog({
      connectionString: realServer,
      deadlineMs: 10_000,
      streamPrefix: `telemetry-test-${randomUUID().slice(0, 8)}-robot-`,
    });
    return { log, cleanup: () => log.close() };
  });
}
