// Process entry: configuration from the environment, signals, exit codes.

import { pino } from 'pino';
import { loadConfig, type Config } from './config.js';
import { hasCode } from './domain/errors.js';
import { startService } from './main.js';

const EXIT_CONFIG = 2;
const EXIT_FAILURE = 1;

async function run(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`telemetry: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT_CONFIG);
  }
  const logger = pino({ level: config.logLevel, name: 'telemetry' });
  let service;
  try {
    service = await startService(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `cannot start: ${error instanceof Error ? error.message : String(error)}`);
    // Configuration found wanting only at start (e.g. no tokens off loopback) is still configuration.
    process.exit(hasCode(error, 'CONFIG_INVALID') ? EXIT_CONFIG : EXIT_FAILURE);
  }
  service.ready.catch(() => process.exit(EXIT_FAILURE));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(EXIT_FAILURE);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: answering frames already received, then closing');
    service.close().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void run();
