// Event exports (CSV, GeoJSON, GPX) and content negotiation on GET /api/robots/:robot/events:
// through buildApp + inject over the real SQLite log, and a 50,000-event export streamed over real
// HTTP from the real service, parsed back exactly.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportStream } from '../../src/api/exports/export-stream.js';
import { EXPORT_PAGE_EVENTS } from '../../src/api/exports/pages.js';
import { plainDecimal } from '../../src/api/exports/numbers.js';
import { EVENT_STRIDE } from '../../src/domain/location.js';
import { parseEventLine, newParsedEvent } from '../../src/domain/wire-format.js';
import type { EventLog } from '../../src/store/event-log.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { useAppFixture } from '../support/app-fixture.js';
import { makeTempDir } from '../support/temp-dir.js';

const fixture = useAppFixture();
const { store } = fixture;

/** Awkward values: -0, exponents both ways, the largest timestamp, big and tiny coordinates. */
const AWKWARD = [0, 0, 0, 3, 4, 10, -0, 1e-7, 20, 1.5e300, -2.5e-300, 30, 123.456, -0.1, 9007199254740991];

describe('formats', () => {
  it('CSV: a header, then rows in the ingest wire format that parse back to the same doubles', async () => {
    await store('Bender', AWKWARD);
    const server = fixture.app();
    const response = await server.inject('/api/robots/Bender/events?format=csv');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(response.headers['content-disposition']).toBe(`attachment; filename="Bender.csv"; filename*=UTF-8''Bender.csv`);
    expect(response.headers.vary).toMatch(/accept/i);
    const [header, ...rows] = response.body.split('\n');
    expect(header).toBe('x,y,timestamp,robot_name');
    expect(rows.pop()).toBe(''); // the body ends with a newline
    expect(rows).toHaveLength(5);
    const parsed = newParsedEvent();
    rows.forEach((row, k) => {
      expect(parseEventLine(row, parsed), row).toBeNull(); // the ingest accepts every row as it is
      expect(Object.is(parsed.x, AWKWARD[k * 3]), `x of ${row}`).toBe(true);
      expect(Object.is(parsed.y, AWKWARD[k * 3 + 1]), `y of ${row}`).toBe(true);
      expect(parsed.timestamp).toBe(AWKWARD[k * 3 + 2]);
      expect(parsed.robot).toBe('Bender');
    });
    expect(rows[2]).toBe('-0,1e-7,20,Bender');
    await server.close();
  });

  it('GeoJSON: one Feature, LineString [x, y] positions with one timestamp each, and the odometer of the range', async () => {
    await store('Bender', [0, 0, 0, 3, 4, 10, 3, 0, 20, 100, 100, 30]);
    const server = fixture.app();
    const response = await server.inject('/api/robots/Bender/events?format=geojson&start_time=5&end_time=25');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/geo+json');
    expect(response.headers['content-disposition']).toContain('filename="Bender.geojson"');
    expect(response.json()).toEqual({
      type: 'Feature',
      properties: {
        robot: 'Bender',
        start_time: 5,
        end_time: 25,
        event_count: 2,
        odometer: 4,
        coordinate_system: 'robot plane units, not WGS84',
        timestamps: [10, 20],
      },
      geometry: { type: 'LineString', coordinates: [[3, 4], [3, 0]] },
    });
    // One event is a Point (a LineString needs two positions); none is a null geometry.
    const one = (await server.inject('/api/robots/Bender/events?format=geojson&start_time=30')).json();
    expect(one.geometry).toEqual({ type: 'Point', coordinates: [100, 100] });
    expect(one.properties).toMatchObject({ timestamps: [30], odometer: 0, event_count: 1 });
    const none = (await server.inject('/api/robots/Nobody/events?format=geojson')).json();
    expect(none).toMatchObject({ type: 'Feature', geometry: null, properties: { robot: 'Nobody', timestamps: [], event_count: 0 } });
    await server.close();
  });

  it('GPX: well-formed GPX 1.1, lon = x and lat = y without exponents, ISO times, an escaped robot name', async () => {
    const name = `R&D <"Bot's"> ✓`;
    await store(name, [1, 2, 1700000000123, -0.5, 1e-7, 1700000000456, 7, 8, 9007199254740991]);
    const server = fixture.app();
    const response = await server.inject(`/api/robots/${encodeURIComponent(name)}/events?format=gpx`);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/gpx+xml; charset=utf-8');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="R_D __Bot_s__ _.gpx"; filename*=UTF-8''R%26D%20%3C%22Bot%27s%22%3E%20%E2%9C%93.gpx`,
    );
    const xml = response.body;
    expect(wellFormedXml(xml)).toBe(true);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<gpx version="1.1" creator="robot-telemetry" xmlns="http:\/\/www.topografix.com\/GPX\/1\/1">/);
    expect(xml).toContain('<name>R&amp;D &lt;&quot;Bot&apos;s&quot;&gt; ✓</name>');
    const points = [...xml.matchAll(/<trkpt lat="([^"]+)" lon="([^"]+)">(.*?)<\/trkpt>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(points).toEqual([
      ['2', '1', '<time>2023-11-14T22:13:20.123Z</time>'],
      ['0.0000001', '-0.5', '<time>2023-11-14T22:13:20.456Z</time>'],
      ['8', '7', ''], // past year 9999: no <time>
    ]);
    await server.close();
  });

  it('plainDecimal writes the shortest round-trip digits without an exponent', () => {
    for (const n of [1e-7, -1.5e-7, 1e21, -1.2345e25, 5e-324, 1.7976931348623157e308, 123.456, -0, 0]) {
      const text = plainDecimal(n);
      expect(text, String(n)).toMatch(/^-?[0-9]+(\.[0-9]+)?$/);
      expect(Object.is(Number(text), n), `${n} → ${text}`).toBe(true);
    }
  });

  it('JSON stays the default and keeps its page size and Link', async () => {
    await store('Bender', [0, 0, 0, 1, 1, 10, 2, 2, 20]);
    const server = fixture.app();
    const response = await server.inject('/api/robots/Bender/events?limit=2');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-disposition']).toBeUndefined();
    expect(response.json()).toEqual([
      { robot: 'Bender', x: 0, y: 0, timestamp: 0 },
      { robot: 'Bender', x: 1, y: 1, timestamp: 10 },
    ]);
    expect(response.headers.link).toBe('</api/robots/Bender/events?start_time=20&end_time=9007199254740991&limit=2>; rel="next"');
    await server.close();
  });

  it('JSON gives back the same doubles as the exports, -0 included', async () => {
    await store('Bender', AWKWARD);
    const server = fixture.app();
    const events = (await server.inject('/api/robots/Bender/events')).json() as Array<{ x: number; y: number; timestamp: number }>;
    expect(events.flatMap((e) => [e.x, e.y, e.timestamp])).toEqual(AWKWARD);
    expect(Object.is(events[2]!.x, -0)).toBe(true);
    await server.close();
  });

  it('exports honour an explicit limit with a Link to the next page in the same format, and are whole ranges without one', async () => {
    const events: number[] = [];
    for (let k = 0; k < 25; k++) events.push(k, -k, k * 10);
    await store('Bender', events);
    const server = fixture.app();
    const rows = async (url: string) => {
      const response = await server.inject(url);
      return { lines: response.body.trim().split('\n').slice(1), link: response.headers.link };
    };
    const whole = await rows('/api/robots/Bender/events?format=csv');
    expect(whole.lines).toHaveLength(25);
    expect(whole.link).toBeUndefined();
    const pages: string[] = [];
    let url: string | undefined = '/api/robots/Bender/events?format=csv&limit=10&start_time=0';
    while (url !== undefined) {
      const page = await rows(url);
      pages.push(...page.lines);
      url = page.link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(String(page.link))![1];
      if (url !== undefined) expect(url).toContain('format=csv');
    }
    expect(pages).toEqual(whole.lines);
    await server.close();
  });
});

describe('negotiation', () => {
  const cases: Array<[accept: string | undefined, query: string, expected: string]> = [
    [undefined, '', 'application/json'],
    ['', '', 'application/json'],
    ['*/*', '', 'application/json'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', '', 'application/json'], // a browser
    ['text/csv', '', 'text/csv'],
    ['TEXT/CSV; charset=utf-8', '', 'text/csv'],
    ['text/*', '', 'text/csv'],
    ['application/geo+json', '', 'application/geo+json'],
    ['application/gpx+xml', '', 'application/gpx+xml'],
    ['application/json;q=0.5, text/csv', '', 'text/csv'],
    ['text/csv;q=0.4, application/gpx+xml;q=0.9', '', 'application/gpx+xml'],
    ['application/*;q=0.9, application/json;q=0', '', 'application/geo+json'], // the specific q=0 excludes JSON only
    ['*/*;q=0.1, text/csv;q=0', '', 'application/json'],
    ['text/csv', 'format=json', 'application/json'], // ?format= wins
    ['text/html', 'format=gpx', 'application/gpx+xml'],
    [undefined, 'format=geojson', 'application/geo+json'],
  ];

  it.each(cases)('Accept %j with ?%s answers %s', async (accept, query, expected) => {
    await store('Bender', [0, 0, 0]);
    const server = fixture.app();
    const response = await server.inject({ url: `/api/robots/Bender/events?${query}`, headers: accept === undefined ? {} : { accept } });
    expect(response.statusCode).toBe(200);
    expect(String(response.headers['content-type']).split(';')[0]).toBe(expected);
    await server.close();
  });

  it.each(['text/html', 'application/xml', 'image/*', 'text/csv;q=0, application/json;q=0, */*;q=0', 'nonsense'])(
    'Accept %j without ?format= is a 406 JSON error',
    async (accept) => {
      const server = fixture.app();
      const response = await server.inject({ url: '/api/robots/Bender/events', headers: { accept } });
      expect(response.statusCode).toBe(406);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.json()).toMatchObject({ statusCode: 406, code: 'TELEMETRY_NOT_ACCEPTABLE', error: 'Not Acceptable' });
      expect(response.json().message).toContain('?format=');
      await server.close();
    },
  );

  it.each(['format=xml', 'format=CSV', 'format=', 'format=csv&format=gpx'])('?%s is a 400 JSON error naming format', async (query) => {
    const server = fixture.app();
    const response = await server.inject(`/api/robots/Bender/events?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400, code: 'TELEMETRY_INVALID_QUERY', error: 'Bad Request' });
    expect(response.json().message).toContain('format');
    await server.close();
  });

  it('checks the query before the Accept header', async () => {
    const server = fixture.app();
    const response = await server.inject({ url: '/api/robots/Bender/events?limit=0', headers: { accept: 'text/html' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain('limit');
    await server.close();
  });
});

describe('streaming', () => {
  it('reads the log one page per pull: never more than a page ahead of what the reader took', async () => {
    const n = EXPORT_PAGE_EVENTS * 5 + 17;
    const events = new Float64Array(n * EVENT_STRIDE);
    for (let k = 0; k < n; k++) events.set([k, k / 2, k], k * EVENT_STRIDE);
    await store('Walker', Array.from(events));
    let reads = 0;
    // The real log, with its page reads counted.
    const counting: EventLog = Object.create(fixture.log, {
      readStream: { value: (stream: string, from: bigint, max: number) => (reads++, fixture.log.readStream(stream, from, max)) },
    });
    const projection = fixture.projections.get('Walker')!;
    const stream = await exportStream({ format: 'csv', log: counting, robot: 'Walker', projection, startTime: 0, endTime: n, first: 0, count: n });
    expect(reads).toBe(1); // the first page, read before answering
    let rows = -1; // the header line
    // Rows here are under 40 bytes: a chunk of more than two pages' text means pages piled up unread.
    const twoPages = 2 * EXPORT_PAGE_EVENTS * 40;
    for await (const chunk of stream) {
      expect((chunk as Buffer).length).toBeLessThanOrEqual(twoPages);
      rows += (chunk as Buffer).toString('utf8').split('\n').length - 1;
      // A slow reader: give the event loop turns in which an eager producer would read on.
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(reads * EXPORT_PAGE_EVENTS, `${reads} page reads after ${rows} rows`).toBeLessThanOrEqual(rows + 2 * EXPORT_PAGE_EVENTS);
    }
    expect(rows).toBe(n);
    expect(reads).toBe(Math.ceil(n / EXPORT_PAGE_EVENTS));
  });

  describe('a 50,000-event range over real HTTP', () => {
    const N = 50_000;
    let service: TestService | undefined;
    let seeded: ReturnType<typeof makeTempDir>;
    const expected = new Float64Array(N * EVENT_STRIDE);

    beforeEach(async () => {
      // Irrational-looking doubles, so any rounding on the way would show.
      for (let k = 0; k < N; k++) expected.set([Math.cos(k) * 1000, Math.sin(k) * 1e-3, 1_600_000_000_000 + k * 7], k * EVENT_STRIDE);
      seeded = makeTempDir();
      const seedLog = new SqliteEventLog({ dataDir: seeded.path, pollIntervalMs: 0 });
      try {
        let head: bigint | 'no_stream' = 'no_stream';
        for (let k = 0; k < N; k += 10_000) {
          head = (await seedLog.append('Long', expected.subarray(k * EVENT_STRIDE, (k + 10_000) * EVENT_STRIDE), head)).nextExpectedRevision;
        }
      } finally {
        await seedLog.close();
      }
      service = await startTestService({ TELEMETRY_DATA_DIR: seeded.path });
    });

    afterEach(async () => {
      await service?.close();
      service = undefined;
      seeded.remove();
    });

    it('CSV: chunked, every event back exactly, in order', async () => {
      const response = await fetch(`${service!.http}/api/robots/Long/events?format=csv`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBeNull();
      expect(response.headers.get('transfer-encoding')).toBe('chunked');
      const lines = (await response.text()).split('\n');
      expect(lines[0]).toBe('x,y,timestamp,robot_name');
      expect(lines.at(-1)).toBe('');
      expect(lines).toHaveLength(N + 2);
      const parsed = newParsedEvent();
      for (let k = 0; k < N; k++) {
        if (parseEventLine(lines[k + 1]!, parsed) !== null) throw new Error(`row ${k}: ${lines[k + 1]}`);
        if (parsed.x !== expected[k * 3] || parsed.y !== expected[k * 3 + 1] || parsed.timestamp !== expected[k * 3 + 2] || parsed.robot !== 'Long') {
          throw new Error(`row ${k} differs: ${lines[k + 1]}`);
        }
      }
    });

    it('GeoJSON and GPX: every position and time back exactly', async () => {
      const geo: any = await (await fetch(`${service!.http}/api/robots/Long/events`, { headers: { accept: 'application/geo+json' } })).json();
      expect(geo.geometry.coordinates).toHaveLength(N);
      expect(geo.properties.timestamps).toHaveLength(N);
      for (let k = 0; k < N; k++) {
        const [x, y] = geo.geometry.coordinates[k];
        if (x !== expected[k * 3] || y !== expected[k * 3 + 1] || geo.properties.timestamps[k] !== expected[k * 3 + 2]) throw new Error(`position ${k} differs`);
      }
      let odometer = 0;
      for (let k = 1; k < N; k++) odometer += Math.hypot(expected[k * 3]! - expected[k * 3 - 3]!, expected[k * 3 + 1]! - expected[k * 3 - 2]!);
      expect(geo.properties.odometer).toBeCloseTo(odometer, 6);

      const xml = await (await fetch(`${service!.http}/api/robots/Long/events?format=gpx`)).text();
      expect(wellFormedXml(xml)).toBe(true);
      const points = [...xml.matchAll(/<trkpt lat="([^"]+)" lon="([^"]+)"><time>([^<]+)<\/time><\/trkpt>/g)];
      expect(points).toHaveLength(N);
      points.forEach((m, k) => {
        if (Number(m[2]) !== expected[k * 3] || Number(m[1]) !== expected[k * 3 + 1] || Date.parse(m[3]!) !== expected[k * 3 + 2]) {
          throw new Error(`trkpt ${k} differs: ${m[0]}`);
        }
      });
    });
  });
});

/**
 * A small well-formedness check (no XML library in the dependencies): one prolog, tags that nest and
 * close in order, attributes quoted, and only the five predefined entities or numeric references.
 */
function wellFormedXml(xml: string): boolean {
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const open: string[] = [];
  const token = /^(?:<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"<]*")*)\s*(\/?)>|([^<]+))/;
  while (rest.length > 0) {
    const m = token.exec(rest);
    if (m === null) return false;
    const [whole, closing, name, attributes, selfClosing, text] = m;
    const content = text ?? attributes ?? '';
    if (/&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(content)) return false;
    if (text === undefined) {
      if (closing === '/') {
        if (open.pop() !== name) return false;
      } else if (selfClosing !== '/') open.push(name!);
    } else if (open.length === 0 && text.trim() !== '') return false;
    rest = rest.slice(whole.length);
  }
  return open.length === 0;
}
