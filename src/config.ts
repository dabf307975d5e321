// One typed, validated, frozen configuration, from the environment and optional command-line flags
// (a flag `--http-port 9000` overrides TELEMETRY_HTTP_PORT). Invalid values stop the service at
// start with a message naming the variable, the rule and the value given.

import { resolve } from 'node:path';
import { createError } from './domain/errors.js';

export interface Config {
  readonly host: string;
  readonly ingestPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly logLevel: string;
  readonly allowUwsFallback: boolean;
  readonly maxFrameBytes: number;
  readonly idleTimeoutSeconds: number;
  /** Lines a frame may hold; a frame with more is refused whole (`ERR frame exceeds N events`). */
  readonly maxEventsPerFrame: number;
  /** Ingest connections open at once, in total (503 on the upgrade past it). */
  readonly maxConnections: number;
  /** Ingest connections open at once with one token (429 on the upgrade past it). */
  readonly maxConnectionsPerToken: number;
  /** Sustained events/s per connection (token bucket); 0: no rate limit. */
  readonly maxEventsPerSecond: number;
  /** Events a connection may send at once above the sustained rate (the bucket's size). */
  readonly rateBurstEvents: number;
  /** Replies buffered for a client that does not read them before it is closed. */
  readonly maxBackpressureBytes: number;
  /** Events waiting for one robot's actor; more are answered `ERR busy`. */
  readonly maxMailboxEvents: number;
  readonly rebuildThreads: number | undefined;
  readonly store: 'sqlite' | 'eventstoredb';
  readonly eventstoreConnectionString: string | undefined;
  readonly storeDeadlineMs: number;
  readonly rebuildProjections: boolean;
  readonly checkpointEveryEvents: number;
  readonly checkpointEverySeconds: number;
  /** Bearer tokens (JSON, hashes only); undefined: `<dataDir>/tokens.json` if it exists. */
  readonly tokensFile: string | undefined;
  /** `off` disables authentication even off loopback (see README "Security"). */
  readonly auth: 'on' | 'off';
}

interface Setting<K extends keyof Config> {
  readonly key: K;
  readonly env: string;
  readonly fallback: string | undefined;
  readonly parse: (raw: string, name: string) => Config[K];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(min: number, max: number) {
  return (raw: string, name: string): number => {
    if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw invalid(`${name} must be an integer ${min}-${max}, got ${JSON.stringify(raw)}`);
    }
    return Number(raw);
  };
}

function flag(raw: string, name: string): boolean {
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false' || raw === '') return false;
  throw invalid(`${name} must be 1 or 0, got ${JSON.stringify(raw)}`);
}

function nonEmpty(raw: string, name: string): string {
  if (raw.trim() === '') throw invalid(`${name} must not be empty`);
  return raw;
}

function oneOf(values: string[]) {
  return (raw: string, name: string): string => {
    if (!values.includes(raw)) throw invalid(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw;
  };
}

function connectionString(raw: string, name: string): string {
  if (!/^esdb(\+discover)?:\/\/[^/?#]+/.test(raw)) {
    throw invalid(`${name} must be an esdb:// or esdb+discover:// connection string, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function invalid(message: string) {
  return createError('CONFIG_INVALID', message);
}

const SETTINGS = [
  { key: 'host', env: 'TELEMETRY_HOST', fallback: '127.0.0.1', parse: nonEmpty },
  { key: 'ingestPort', env: 'TELEMETRY_INGEST_PORT', fallback: '8000', parse: integer(0, 65535) },
  { key: 'httpPort', env: 'TELEMETRY_HTTP_PORT', fallback: '8080', parse: integer(0, 65535) },
  { key: 'dataDir', env: 'TELEMETRY_DATA_DIR', fallback: './data', parse: (raw, name) => resolve(nonEmpty(raw, name)) },
  { key: 'logLevel', env: 'TELEMETRY_LOG_LEVEL', fallback: 'info', parse: oneOf(LOG_LEVELS) },
  { key: 'allowUwsFallback', env: 'TELEMETRY_ALLOW_UWS_FALLBACK', fallback: '0', parse: flag },
  { key: 'maxFrameBytes', env: 'TELEMETRY_MAX_FRAME_BYTES', fallback: String(1024 * 1024), parse: integer(64, 64 * 1024 * 1024) },
  { key: 'idleTimeoutSeconds', env: 'TELEMETRY_IDLE_TIMEOUT_SECONDS', fallback: '120', parse: integer(8, 3600) },
  { key: 'maxEventsPerFrame', env: 'TELEMETRY_MAX_EVENTS_PER_FRAME', fallback: '10000', parse: integer(1, 1_000_000) },
  { key: 'maxConnections', env: 'TELEMETRY_MAX_CONNECTIONS', fallback: '10000', parse: integer(1, 1_000_000) },
  { key: 'maxConnectionsPerToken', env: 'TELEMETRY_MAX_CONNECTIONS_PER_TOKEN', fallback: '1000', parse: integer(1, 1_000_000) },
  { key: 'maxEventsPerSecond', env: 'TELEMETRY_MAX_EVENTS_PER_SECOND', fallback: '200000', parse: integer(0, 100_000_000) },
  { key: 'rateBurstEvents', env: 'TELEMETRY_RATE_BURST_EVENTS', fallback: '200000', parse: integer(1, 100_000_000) },
  {
    key: 'maxBackpressureBytes',
    env: 'TELEMETRY_MAX_BACKPRESSURE_BYTES',
    fallback: String(16 * 1024 * 1024),
    parse: integer(64 * 1024, 1024 * 1024 * 1024),
  },
  { key: 'maxMailboxEvents', env: 'TELEMETRY_MAX_MAILBOX_EVENTS', fallback: '65536', parse: integer(1, 10_000_000) },
  { key: 'rebuildThreads', env: 'TELEMETRY_REBUILD_THREADS', fallback: undefined, parse: integer(1, 256) },
  {
    key: 'store',
    env: 'TELEMETRY_STORE',
    fallback: 'sqlite',
    parse: (raw, name) => oneOf(['sqlite', 'eventstoredb'])(raw, name) as Config['store'],
  },
  { key: 'eventstoreConnectionString', env: 'EVENTSTORE_CONNECTION_STRING', fallback: undefined, parse: connectionString },
  { key: 'storeDeadlineMs', env: 'TELEMETRY_STORE_DEADLINE_MS', fallback: '5000', parse: integer(100, 600_000) },
  { key: 'rebuildProjections', env: 'TELEMETRY_REBUILD_PROJECTIONS', fallback: '0', parse: flag },
  { key: 'checkpointEveryEvents', env: 'TELEMETRY_CHECKPOINT_EVENTS', fallback: '1000000', parse: integer(1, 1_000_000_000) },
  { key: 'checkpointEverySeconds', env: 'TELEMETRY_CHECKPOINT_SECONDS', fallback: '60', parse: integer(1, 86_400) },
  { key: 'tokensFile', env: 'TELEMETRY_TOKENS_FILE', fallback: undefined, parse: (raw, name) => resolve(nonEmpty(raw, name)) },
  { key: 'auth', env: 'TELEMETRY_AUTH', fallback: 'on', parse: (raw, name) => oneOf(['on', 'off'])(raw, name) as Config['auth'] },
] as const satisfies ReadonlyArray<Setting<keyof Config>>;

/** `TELEMETRY_HTTP_PORT` → `--http-port`; `EVENTSTORE_CONNECTION_STRING` → `--eventstore-connection-string`. */
function flagName(env: string): string {
  return '--' + env.replace(/^TELEMETRY_/, '').toLowerCase().replace(/_/g, '-');
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set<string>(SETTINGS.map((s) => flagName(s.env)));
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.has(name)) throw invalid(`unknown option ${JSON.stringify(arg)}; options: ${[...known].join(', ')}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw invalid(`option ${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): Config {
  const flags = parseFlags(argv);
  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const flagged = flags.get(flagName(setting.env));
    const raw = flagged ?? env[setting.env] ?? setting.fallback;
    const name = flagged === undefined ? setting.env : flagName(setting.env);
    config[setting.key] = raw === undefined ? undefined : setting.parse(raw, name);
  }
  const result = config as unknown as Config;
  if (result.store === 'eventstoredb' && result.eventstoreConnectionString === undefined) {
    throw invalid('EVENTSTORE_CONNECTION_STRING must be set when TELEMETRY_STORE=eventstoredb');
  }
  return Object.freeze(result);
}

/** The environment variables the service reads, for documentation and tests. */
export const CONFIG_VARIABLES: readonly string[] = SETTINGS.map((s) => s.env);
