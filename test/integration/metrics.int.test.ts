// GET /metrics on the real service in this process (real SQLite log, real uWS ingest socket, real
// HTTP listener on port 0): events sent over the WebSocket come back as exact Prometheus counts.

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REASON } from '../../src/domain/wire-format.js';
import { bearer, writeTokens } from '../support/auth-tokens.js';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { IngestClient } from '../support/ingest-client.js';
import { makeTempDir } from '../support/temp-dir.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text exposition → samples (comments skipped; label values unescaped). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

class Scrape {
  constructor(readonly samples: readonly Sample[]) {}

  /** Samples of `name` whose labels include `labels`. */
  all(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The value of the one sample of `name` with exactly `labels`. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.samples.filter(
      (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && this.all(name, labels).includes(s),
    );
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
    return found[0]!.value;
  }
}

async function scrape(service: TestService, token?: string): Promise<Scrape> {
  const response = await fetch(`${service.http}/metrics`, { headers: token === undefined ? {} : bearer(token) });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return new Scrape(parseSamples(await response.text()));
}

const EVENTS = 'telemetry_ingest_events_total';

let dir: ReturnType<typeof makeTempDir>;
let service: TestService;
let client: IngestClient | undefined;

beforeEach(async () => {
  dir = makeTempDir();
  service = await startTestService({ TELEMETRY_DATA_DIR: dir.path });
});

afterEach(async () => {
  await client?.close();
  client = undefined;
  await service.close();
  dir.remove();
});

describe('GET /metrics', () => {
  it('counts every answer by outcome and reason, exactly', async () => {
    client = await IngestClient.connect(service.ingestPort);
    expect(await client.sendEvents(['1,1,1000,alpha', '2,2,2000,alpha', '5,5,1000,beta'])).toEqual(['OK', 'OK', 'OK']);
    expect(
      await client.sendEvents(['2,2,2000,alpha', '5,5,1000,beta', '9,9,1500,alpha', 'x,1,1,alpha', '1,2,3', 'abc,1,1,gamma']),
    ).toEqual(['DUP', 'DUP', 'STALE', `ERR ${REASON.x}`, `ERR ${REASON.fields}`, `ERR ${REASON.x}`]);
    // A frame refused whole is one answer, so one count.
    expect(await client.send(Buffer.from('1,1,3000,alpha'), { binary: true })).toBe('ERR binary frames are not accepted; send text frames');

    const metrics = await scrape(service);
    expect(metrics.value(EVENTS, { outcome: 'ok' })).toBe(3);
    expect(metrics.value(EVENTS, { outcome: 'dup' })).toBe(2);
    expect(metrics.value(EVENTS, { outcome: 'stale' })).toBe(1);
    expect(metrics.value(EVENTS, { outcome: 'err', reason: REASON.x })).toBe(2);
    expect(metrics.value(EVENTS, { outcome: 'err', reason: REASON.fields })).toBe(1);
    expect(metrics.value(EVENTS, { outcome: 'err', reason: 'binary frames are not accepted; send text frames' })).toBe(1);
    // Known reasons are present at zero from the start; everything sums to the answers sent.
    expect(metrics.value(EVENTS, { outcome: 'err', reason: REASON.empty })).toBe(0);
    expect(metrics.value(EVENTS, { outcome: 'err', reason: 'forbidden robot' })).toBe(0);
    expect(metrics.all(EVENTS).reduce((n, s) => n + s.value, 0)).toBe(10);
    expect(metrics.all(EVENTS, { outcome: 'err', reason: 'other' })).toEqual([]);

    // Robots routed to an actor: alpha and beta (gamma's line never parsed).
    expect(metrics.value('telemetry_actors')).toBe(2);
    expect(metrics.value('telemetry_actor_mailbox_events')).toBe(0);
    expect(metrics.value('telemetry_actor_mailbox_max_events')).toBe(0);
    expect(metrics.value('telemetry_actor_revision_conflicts_total')).toBe(0);
  });

  it('measures appends consistently with the events stored', async () => {
    client = await IngestClient.connect(service.ingestPort);
    const lines = Array.from({ length: 40 }, (_, i) => `${i},0,${1000 + i},robot-${i % 4}`);
    expect(new Set(await client.sendEvents(lines))).toEqual(new Set(['OK']));
    expect(await client.sendEvents(['0,0,1000,robot-0'])).toEqual(['DUP']); // answered, nothing appended

    await service.whenProjected();
    const metrics = await scrape(service);
    const appends = metrics.value('telemetry_log_append_batch_events_count');
    // Every stored event was in exactly one committed append; each robot needed at least one.
    expect(metrics.value('telemetry_log_append_batch_events_sum')).toBe(40);
    expect(appends).toBeGreaterThanOrEqual(4);
    expect(appends).toBeLessThanOrEqual(40);
    expect(metrics.value('telemetry_log_append_batch_events_bucket', { le: '+Inf' })).toBe(appends);
    expect(metrics.value('telemetry_log_append_duration_seconds_count')).toBe(appends);
    expect(metrics.value('telemetry_log_append_duration_seconds_sum')).toBeGreaterThan(0);
    expect(metrics.all('telemetry_log_append_failures_total')).toEqual([]);

    expect(metrics.value('telemetry_projection_events')).toBe(40);
    expect(metrics.value('telemetry_projection_robots')).toBe(4);
    expect(metrics.value('telemetry_projection_caught_up')).toBe(1);
    expect(metrics.value('telemetry_projection_lag_positions')).toBe(0);
  });

  it('reports open connections while connected and zero after close', async () => {
    let metrics = await scrape(service);
    expect(metrics.value('telemetry_ingest_connections')).toBe(0);

    client = await IngestClient.connect(service.ingestPort);
    const second = await IngestClient.connect(service.ingestPort);
    metrics = await scrape(service);
    expect(metrics.value('telemetry_ingest_connections')).toBe(2);
    expect(metrics.value('telemetry_ingest_connections_opened_total')).toBe(2);
    expect(metrics.value('telemetry_ingest_connections_closed_total')).toBe(0);

    await second.close();
    metrics = await scrape(service);
    expect(metrics.value('telemetry_ingest_connections')).toBe(1);

    await client.close();
    metrics = await scrape(service);
    expect(metrics.value('telemetry_ingest_connections')).toBe(0);
    expect(metrics.value('telemetry_ingest_connections_opened_total')).toBe(2);
    expect(metrics.value('telemetry_ingest_connections_closed_total')).toBe(2);
  });

  it('observes REST latency by route pattern and status class, never by raw URL', async () => {
    client = await IngestClient.connect(service.ingestPort);
    expect(await client.sendEvents(['1,1,1000,secret-robot-name'])).toEqual(['OK']);
    await service.whenProjected();
    expect((await fetch(`${service.http}/api/robots/secret-robot-name`)).status).toBe(200);
    expect((await fetch(`${service.http}/api/robots/secret-robot-name/odometer`)).status).toBe(200);
    expect((await fetch(`${service.http}/api/robots/another-secret`)).status).toBe(404);
    expect((await fetch(`${service.http}/no/such/secret-path`)).status).toBe(404);

    const metrics = await scrape(service);
    const latency = 'telemetry_http_request_duration_seconds_count';
    expect(metrics.value(latency, { method: 'GET', route: '/api/robots/:robot', status_class: '2xx' })).toBe(1);
    expect(metrics.value(latency, { method: 'GET', route: '/api/robots/:robot/odometer', status_class: '2xx' })).toBe(1);
    expect(metrics.value(latency, { method: 'GET', route: '/api/robots/:robot', status_class: '4xx' })).toBe(1);
    expect(metrics.value(latency, { method: 'GET', route: 'unmatched', status_class: '4xx' })).toBe(1);
    const buckets = metrics.all('telemetry_http_request_duration_seconds_bucket', { route: '/api/robots/:robot', status_class: '2xx' });
    expect(buckets.length).toBeGreaterThan(5);
    expect(buckets.find((b) => b.labels.le === '+Inf')?.value).toBe(1);
    // No raw URL anywhere in a label.
    for (const sample of metrics.samples) expect(Object.values(sample.labels).join(' ')).not.toContain('secret');
  });

  it('includes process metrics and the projections caught up once whenProjected resolves', async () => {
    await service.whenProjected();
    const metrics = await scrape(service);
    expect(metrics.value('telemetry_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(metrics.value('telemetry_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.value('telemetry_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(metrics.all('telemetry_nodejs_eventloop_lag_seconds')).toHaveLength(1);
    expect(metrics.value('telemetry_projection_caught_up')).toBe(1);
    expect(metrics.value('telemetry_actors')).toBe(0);
  });

  it('keeps each service its own counts when two run in one process', async () => {
    const otherDir = makeTempDir();
    const other = await startTestService({ TELEMETRY_DATA_DIR: otherDir.path });
    try {
      client = await IngestClient.connect(service.ingestPort);
      expect(await client.sendEvents(['1,1,1000,alpha', '1,1,1000,alpha'])).toEqual(['OK', 'DUP']);
      const mine = await scrape(service);
      const theirs = await scrape(other);
      expect(mine.value(EVENTS, { outcome: 'ok' })).toBe(1);
      expect(theirs.value(EVENTS, { outcome: 'ok' })).toBe(0);
      expect(theirs.value('telemetry_ingest_connections')).toBe(0);
      expect(theirs.value('telemetry_actors')).toBe(0);
      // The process metrics are the process's: both services show them.
      expect(theirs.all('telemetry_process_resident_memory_bytes')).toHaveLength(1);
    } finally {
      await other.close();
      otherDir.remove();
    }
  });
});

describe('GET /metrics with a tokens file', () => {
  it('needs a read token, and counts events refused by a robot-scoped token', async () => {
    const otherDir = makeTempDir();
    const file = join(otherDir.path, 'tokens.json');
    const [robotToken, readToken, fleetToken] = writeTokens(file, [
      { type: 'robots', robots: ['Bender'] },
      { type: 'read' },
      { type: 'fleet' },
    ]).map((t) => t.token) as [string, string, string];
    const guarded = await startTestService({ TELEMETRY_DATA_DIR: otherDir.path, TELEMETRY_TOKENS_FILE: file });
    let robot: IngestClient | undefined;
    try {
      expect((await fetch(`${guarded.http}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.http}/metrics`, { headers: bearer(fleetToken) })).status).toBe(403);

      robot = await IngestClient.connect(guarded.ingestPort, '/upstream', bearer(robotToken));
      expect(await robot.sendEvents(['1,1,1000,Bender', '1,1,1000,Flexo', '2,2,2000,Flexo'])).toEqual([
        'OK',
        'ERR forbidden robot',
        'ERR forbidden robot',
      ]);
      const metrics = await scrape(guarded, readToken);
      expect(metrics.value(EVENTS, { outcome: 'ok' })).toBe(1);
      expect(metrics.value(EVENTS, { outcome: 'err', reason: 'forbidden robot' })).toBe(2);
      expect(metrics.value('telemetry_actors')).toBe(1);
      // The refused requests were observed too, under their route.
      expect(metrics.value('telemetry_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status_class: '4xx' })).toBe(2);
    } finally {
      await robot?.close();
      await guarded.close();
      otherDir.remove();
    }
  });
});
