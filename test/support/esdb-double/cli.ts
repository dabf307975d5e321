// Serves the EventStoreDB double until killed:
//   npm run esdb:double -- --port 2113 [--host 127.0.0.1]
// Prints one line with the connection string once listening; SIGTERM / SIGINT close it and exit 0.

import { parseArgs } from 'node:util';
import { startEsdbDouble } from './server.js';

const USAGE = 'usage: esdb:double -- [--port 0-65535] [--host ADDRESS]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 2113;
  const port = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) fail(`--port must be an integer 0-65535, got ${JSON.stringify(raw)}`);
  return port;
}

let values: { port?: string; host?: string };
try {
  ({ values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  }));
} catch (error) {
  fail((error as Error).message);
}

const double = await startEsdbDouble({ port: parsePort(values.port), host: values.host ?? '127.0.0.1' });
process.stdout.write(`EventStoreDB double listening: ${double.connectionString}\n`);

let closing = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (closing) return;
  closing = true;
  double.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`closing after ${signal} failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
