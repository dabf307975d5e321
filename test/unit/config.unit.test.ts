// Configuration: defaults, environment, flags over environment, validation messages, frozen result.

import { isAbsolute, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';
import { ERRORS, hasCode } from '../../src/domain/errors.js';

function failure(env: NodeJS.ProcessEnv, argv: readonly string[] = []): { code: unknown; message: string } {
  try {
    loadConfig(env, argv);
  } catch (error) {
    expect(hasCode(error, 'CONFIG_INVALID')).toBe(true);
    return { code: (error as { code: unknown }).code, message: (error as Error).message };
  }
  throw new Error(`loadConfig accepted ${JSON.stringify({ env, argv })}`);
}

describe('loadConfig defaults', () => {
  const config = loadConfig({});

  it('has the documented defaults', () => {
    expect(config).toEqual({
      host: '127.0.0.1',
      ingestPort: 8000,
      httpPort: 8080,
      dataDir: resolve('./data'),
      logLevel: 'info',
      allowUwsFallback: false,
      maxFrameBytes: 1024 * 1024,
      idleTimeoutSeconds: 120,
      maxEventsPerFrame: 10_000,
      maxConnections: 10_000,
      maxConnectionsPerToken: 1000,
      maxEventsPerSecond: 200_000,
      rateBurstEvents: 200_000,
      maxBackpressureBytes: 16 * 1024 * 1024,
      maxMailboxEvents: 65_536,
      rebuildThreads: undefined,
      store: 'sqlite',
      eventstoreConnectionString: undefined,
      storeDeadlineMs: 5000,
      rebuildProjections: false,
      checkpointEveryEvents: 1_000_000,
      checkpointEverySeconds: 60,
      tokensFile: undefined,
      auth: 'on',
    });
  });

  it('resolves the default data directory to an absolute path under the working directory', () => {
    expect(isAbsolute(config.dataDir)).toBe(true);
    expect(config.dataDir).toBe(join(process.cwd(), 'data'));
  });

  it('is frozen', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(loadConfig({ TELEMETRY_HTTP_PORT: '1' }, ['--host', 'h']))).toBe(true);
    expect(() => {
      (config as { httpPort: number }).httpPort = 1;
    }).toThrow(TypeError);
  });

  it('ignores unrelated environment variables', () => {
    expect(loadConfig({ PATH: '/bin', HTTP_PORT: 'abc', TELEMETRY: 'x' })).toEqual(config);
  });
});

describe('loadConfig from the environment', () => {
  it('reads every setting', () => {
    const config = loadConfig({
      TELEMETRY_HOST: '0.0.0.0',
      TELEMETRY_INGEST_PORT: '9001',
      TELEMETRY_HTTP_PORT: '0',
      TELEMETRY_DATA_DIR: '/var/lib/telemetry',
      TELEMETRY_LOG_LEVEL: 'debug',
      TELEMETRY_ALLOW_UWS_FALLBACK: '1',
      TELEMETRY_MAX_FRAME_BYTES: '4096',
      TELEMETRY_IDLE_TIMEOUT_SECONDS: '30',
      TELEMETRY_MAX_EVENTS_PER_FRAME: '500',
      TELEMETRY_MAX_CONNECTIONS: '300',
      TELEMETRY_MAX_CONNECTIONS_PER_TOKEN: '30',
      TELEMETRY_MAX_EVENTS_PER_SECOND: '0',
      TELEMETRY_RATE_BURST_EVENTS: '5000',
      TELEMETRY_MAX_BACKPRESSURE_BYTES: '65536',
      TELEMETRY_MAX_MAILBOX_EVENTS: '7',
      TELEMETRY_REBUILD_THREADS: '4',
      TELEMETRY_STORE: 'eventstoredb',
      EVENTSTORE_CONNECTION_STRING: 'esdb://a:2113,b:2113,c:2113?tls=false',
      TELEMETRY_STORE_DEADLINE_MS: '2500',
      TELEMETRY_REBUILD_PROJECTIONS: '1',
      TELEMETRY_CHECKPOINT_EVENTS: '5000',
      TELEMETRY_CHECKPOINT_SECONDS: '5',
      TELEMETRY_TOKENS_FILE: '/etc/telemetry/tokens.json',
      TELEMETRY_AUTH: 'off',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      ingestPort: 9001,
      httpPort: 0,
      dataDir: '/var/lib/telemetry',
      logLevel: 'debug',
      allowUwsFallback: true,
      maxFrameBytes: 4096,
      idleTimeoutSeconds: 30,
      maxEventsPerFrame: 500,
      maxConnections: 300,
      maxConnectionsPerToken: 30,
      maxEventsPerSecond: 0,
      rateBurstEvents: 5000,
      maxBackpressureBytes: 65536,
      maxMailboxEvents: 7,
      rebuildThreads: 4,
      store: 'eventstoredb',
      eventstoreConnectionString: 'esdb://a:2113,b:2113,c:2113?tls=false',
      storeDeadlineMs: 2500,
      rebuildProjections: true,
      checkpointEveryEvents: 5000,
      checkpointEverySeconds: 5,
      tokensFile: '/etc/telemetry/tokens.json',
      auth: 'off',
    });
  });

  it('resolves a relative data directory to an absolute path', () => {
    expect(loadConfig({ TELEMETRY_DATA_DIR: 'var/x' }).dataDir).toBe(join(process.cwd(), 'var', 'x'));
  });

  it('accepts the port bounds 0 and 65535', () => {
    expect(loadConfig({ TELEMETRY_HTTP_PORT: '0' }).httpPort).toBe(0);
    expect(loadConfig({ TELEMETRY_HTTP_PORT: '65535' }).httpPort).toBe(65535);
  });

  it.each([
    ['1', true],
    ['true', true],
    ['0', false],
    ['false', false],
    ['', false],
  ])('reads TELEMETRY_ALLOW_UWS_FALLBACK=%j as %s', (raw, expected) => {
    expect(loadConfig({ TELEMETRY_ALLOW_UWS_FALLBACK: raw }).allowUwsFallback).toBe(expected);
  });

  it('lists the variables it reads', () => {
    expect([...CONFIG_VARIABLES].sort()).toEqual(
      [
        'TELEMETRY_HOST',
        'TELEMETRY_INGEST_PORT',
        'TELEMETRY_HTTP_PORT',
        'TELEMETRY_DATA_DIR',
        'TELEMETRY_LOG_LEVEL',
        'TELEMETRY_ALLOW_UWS_FALLBACK',
        'TELEMETRY_MAX_FRAME_BYTES',
        'TELEMETRY_IDLE_TIMEOUT_SECONDS',
        'TELEMETRY_MAX_EVENTS_PER_FRAME',
        'TELEMETRY_MAX_CONNECTIONS',
        'TELEMETRY_MAX_CONNECTIONS_PER_TOKEN',
        'TELEMETRY_MAX_EVENTS_PER_SECOND',
        'TELEMETRY_RATE_BURST_EVENTS',
        'TELEMETRY_MAX_BACKPRESSURE_BYTES',
        'TELEMETRY_MAX_MAILBOX_EVENTS',
        'TELEMETRY_REBUILD_THREADS',
        'TELEMETRY_STORE',
        'EVENTSTORE_CONNECTION_STRING',
        'TELEMETRY_STORE_DEADLINE_MS',
        'TELEMETRY_REBUILD_PROJECTIONS',
        'TELEMETRY_CHECKPOINT_EVENTS',
        'TELEMETRY_CHECKPOINT_SECONDS',
        'TELEMETRY_TOKENS_FILE',
        'TELEMETRY_AUTH',
      ].sort(),
    );
  });
});

describe('loadConfig flags', () => {
  it('accepts `--http-port 9000` and `--http-port=9000`', () => {
    expect(loadConfig({}, ['--http-port', '9000']).httpPort).toBe(9000);
    expect(loadConfig({}, ['--http-port=9000']).httpPort).toBe(9000);
  });

  it('lets a flag override the environment', () => {
    const env = { TELEMETRY_HTTP_PORT: '7000', TELEMETRY_HOST: 'env-host' };
    expect(loadConfig(env, ['--http-port', '9000'])).toMatchObject({ httpPort: 9000, host: 'env-host' });
    expect(loadConfig(env, ['--http-port=9001', '--host=flag-host'])).toMatchObject({ httpPort: 9001, host: 'flag-host' });
  });

  it('lets a valid flag override an invalid environment value', () => {
    expect(loadConfig({ TELEMETRY_HTTP_PORT: 'abc' }, ['--http-port', '9000']).httpPort).toBe(9000);
  });

  it('names every setting as a flag', () => {
    const config = loadConfig({}, [
      '--host=h',
      '--ingest-port=1',
      '--http-port=2',
      '--data-dir=/d',
      '--log-level=warn',
      '--allow-uws-fallback=true',
      '--max-frame-bytes=64',
      '--idle-timeout-seconds=8',
      '--max-events-per-frame=1',
      '--max-connections=1',
      '--max-connections-per-token=1',
      '--max-events-per-second=100000000',
      '--rate-burst-events=1',
      '--max-backpressure-bytes=1073741824',
      '--max-mailbox-events=10000000',
      '--rebuild-threads=256',
      '--store=eventstoredb',
      '--eventstore-connection-string=esdb://127.0.0.1:2113?tls=false',
      '--store-deadline-ms=100',
      '--rebuild-projections=1',
      '--checkpoint-events=1',
      '--checkpoint-seconds=1',
      '--tokens-file=/t.json',
      '--auth=on',
    ]);
    expect(config).toEqual({
      host: 'h',
      ingestPort: 1,
      httpPort: 2,
      dataDir: '/d',
      logLevel: 'warn',
      allowUwsFallback: true,
      maxFrameBytes: 64,
      idleTimeoutSeconds: 8,
      maxEventsPerFrame: 1,
      maxConnections: 1,
      maxConnectionsPerToken: 1,
      maxEventsPerSecond: 100_000_000,
      rateBurstEvents: 1,
      maxBackpressureBytes: 1024 * 1024 * 1024,
      maxMailboxEvents: 10_000_000,
      rebuildThreads: 256,
      store: 'eventstoredb',
      eventstoreConnectionString: 'esdb://127.0.0.1:2113?tls=false',
      storeDeadlineMs: 100,
      rebuildProjections: true,
      checkpointEveryEvents: 1,
      checkpointEverySeconds: 1,
      tokensFile: '/t.json',
      auth: 'on',
    });
  });

  it('needs a connection string for EventStoreDB, and a well-formed one', () => {
    expect(() => loadConfig({ TELEMETRY_STORE: 'eventstoredb' })).toThrow(
      'EVENTSTORE_CONNECTION_STRING must be set when TELEMETRY_STORE=eventstoredb',
    );
    expect(() => loadConfig({ EVENTSTORE_CONNECTION_STRING: 'http://x:2113' })).toThrow(
      'EVENTSTORE_CONNECTION_STRING must be an esdb:// or esdb+discover:// connection string, got "http://x:2113"',
    );
    expect(() => loadConfig({ TELEMETRY_STORE: 'mysql' })).toThrow('TELEMETRY_STORE must be one of sqlite, eventstoredb, got "mysql"');
  });

  it('keeps everything after the first `=` as the value', () => {
    expect(loadConfig({}, ['--data-dir=/tmp/a=b']).dataDir).toBe('/tmp/a=b');
  });
});

describe('loadConfig errors', () => {
  it('rejects a non-integer port with code and exact message', () => {
    const error = failure({ TELEMETRY_HTTP_PORT: 'abc' });
    expect(error.code).toBe('TELEMETRY_CONFIG_INVALID');
    expect(error.code).toBe(ERRORS.CONFIG_INVALID.code);
    expect(error.message).toBe('TELEMETRY_HTTP_PORT must be an integer 0-65535, got "abc"');
  });

  it('throws a TelemetryError with status 500', () => {
    expect(() => loadConfig({ TELEMETRY_HTTP_PORT: 'abc' })).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_CONFIG_INVALID', statusCode: 500 }),
    );
  });

  it.each(['65536', '-1', '1.5', ' 80', '80 ', '', '0x50', '1e3', '99999999999999999999'])('rejects TELEMETRY_HTTP_PORT=%j', (raw) => {
    expect(failure({ TELEMETRY_HTTP_PORT: raw }).message).toBe(
      `TELEMETRY_HTTP_PORT must be an integer 0-65535, got ${JSON.stringify(raw)}`,
    );
  });

  it('names the flag, not the variable, when a flag is invalid', () => {
    expect(failure({}, ['--http-port', 'abc']).message).toBe('--http-port must be an integer 0-65535, got "abc"');
    expect(failure({}, ['--ingest-port=65536']).message).toBe('--ingest-port must be an integer 0-65535, got "65536"');
  });

  it('rejects an unknown flag', () => {
    expect(failure({}, ['--nope', '1']).message).toMatch(/^unknown option "--nope"/);
    expect(failure({}, ['--nope=1']).message).toMatch(/^unknown option "--nope=1"/);
    expect(failure({}, ['9000']).message).toMatch(/^unknown option "9000"/);
    expect(failure({}, ['--http-port', '9000', '--HTTP-PORT', '1']).message).toMatch(/^unknown option "--HTTP-PORT"/);
  });

  it('rejects a flag without a value', () => {
    expect(failure({}, ['--http-port']).message).toBe('option --http-port needs a value');
  });

  it('rejects TELEMETRY_ALLOW_UWS_FALLBACK=yes', () => {
    expect(failure({ TELEMETRY_ALLOW_UWS_FALLBACK: 'yes' }).message).toBe(
      'TELEMETRY_ALLOW_UWS_FALLBACK must be 1 or 0, got "yes"',
    );
  });

  it('rejects an unknown log level and a blank host or data directory', () => {
    expect(failure({ TELEMETRY_LOG_LEVEL: 'verbose' }).message).toMatch(/^TELEMETRY_LOG_LEVEL must be one of .*info.*, got "verbose"$/);
    expect(failure({ TELEMETRY_HOST: '  ' }).message).toBe('TELEMETRY_HOST must not be empty');
    expect(failure({ TELEMETRY_DATA_DIR: '' }).message).toBe('TELEMETRY_DATA_DIR must not be empty');
  });

  it('enforces the frame, idle-timeout and thread bounds', () => {
    expect(failure({ TELEMETRY_MAX_FRAME_BYTES: '63' }).message).toBe(
      'TELEMETRY_MAX_FRAME_BYTES must be an integer 64-67108864, got "63"',
    );
    expect(failure({ TELEMETRY_IDLE_TIMEOUT_SECONDS: '7' }).message).toBe(
      'TELEMETRY_IDLE_TIMEOUT_SECONDS must be an integer 8-3600, got "7"',
    );
    expect(failure({ TELEMETRY_REBUILD_THREADS: '0' }).message).toBe('TELEMETRY_REBUILD_THREADS must be an integer 1-256, got "0"');
  });

  it.each([
    ['TELEMETRY_MAX_EVENTS_PER_FRAME', '0', '1-1000000'],
    ['TELEMETRY_MAX_EVENTS_PER_FRAME', '1000001', '1-1000000'],
    ['TELEMETRY_MAX_CONNECTIONS', '0', '1-1000000'],
    ['TELEMETRY_MAX_CONNECTIONS_PER_TOKEN', '0', '1-1000000'],
    ['TELEMETRY_MAX_EVENTS_PER_SECOND', '-1', '0-100000000'],
    ['TELEMETRY_MAX_EVENTS_PER_SECOND', '100000001', '0-100000000'],
    ['TELEMETRY_RATE_BURST_EVENTS', '0', '1-100000000'],
    ['TELEMETRY_MAX_BACKPRESSURE_BYTES', '65535', '65536-1073741824'],
    ['TELEMETRY_MAX_BACKPRESSURE_BYTES', '1073741825', '65536-1073741824'],
    ['TELEMETRY_MAX_MAILBOX_EVENTS', '0', '1-10000000'],
    ['TELEMETRY_MAX_MAILBOX_EVENTS', '1.5', '1-10000000'],
  ])('enforces the limit bounds: %s=%j', (name, raw, range) => {
    expect(failure({ [name]: raw }).message).toBe(`${name} must be an integer ${range}, got ${JSON.stringify(raw)}`);
  });
});

describe('loadConfig authentication settings', () => {
  it('resolves a relative tokens file to an absolute path', () => {
    expect(loadConfig({ TELEMETRY_TOKENS_FILE: 'secrets/t.json' }).tokensFile).toBe(join(process.cwd(), 'secrets', 't.json'));
  });

  it('accepts TELEMETRY_AUTH on and off only', () => {
    expect(loadConfig({ TELEMETRY_AUTH: 'on' }).auth).toBe('on');
    expect(loadConfig({ TELEMETRY_AUTH: 'off' }).auth).toBe('off');
    expect(failure({ TELEMETRY_AUTH: '0' }).message).toBe('TELEMETRY_AUTH must be one of on, off, got "0"');
    expect(failure({ TELEMETRY_TOKENS_FILE: ' ' }).message).toBe('TELEMETRY_TOKENS_FILE must not be empty');
  });
});
