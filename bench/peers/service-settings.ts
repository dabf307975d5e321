// The ingest settings the service runs with, for the comparison peers: taken from the service's own
// configuration (defaults, or the same TELEMETRY_* variables the benchmark gives the service) and
// the constants the service exports.

import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { HARD_CAP_FACTOR, MAX_BACKPRESSURE_BYTES } from '../../src/ingest/ingest-server.js';

const config = loadConfig({
  TELEMETRY_MAX_FRAME_BYTES: process.env.TELEMETRY_MAX_FRAME_BYTES,
  TELEMETRY_IDLE_TIMEOUT_SECONDS: process.env.TELEMETRY_IDLE_TIMEOUT_SECONDS,
  TELEMETRY_MAX_EVENTS_PER_FRAME: process.env.TELEMETRY_MAX_EVENTS_PER_FRAME,
  TELEMETRY_MAX_EVENTS_PER_SECOND: process.env.TELEMETRY_MAX_EVENTS_PER_SECOND,
  TELEMETRY_RATE_BURST_EVENTS: process.env.TELEMETRY_RATE_BURST_EVENTS,
  TELEMETRY_MAX_MAILBOX_EVENTS: process.env.TELEMETRY_MAX_MAILBOX_EVENTS,
});

export const INGEST_SETTINGS = Object.freeze({
  maxFrameBytes: config.maxFrameBytes,
  maxEventsPerFrame: config.maxEventsPerFrame,
  maxEventsPerSecond: config.maxEventsPerSecond,
  rateBurstEvents: config.rateBurstEvents,
  maxMailboxEvents: config.maxMailboxEvents,
  idleTimeoutSeconds: config.idleTimeoutSeconds,
  maxBackpressureBytes: MAX_BACKPRESSURE_BYTES,
  hardCapBytes: config.maxFrameBytes * HARD_CAP_FACTOR,
});

/** Peers log to stderr (stdout carries only the `{"port":N}` line), warnings and worse. */
export function peerLogger(name: string): Logger {
  return pino({ name, level: 'warn' }, pino.destination(2));
}
