// The real service (uWebSockets.js ingest, SQLite log, projections, Fastify) on port 0, driven by
// a WebSocket client and HTTP: the original project's cases, the protocol, the REST contract.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IngestClient } from '../support/ingest-client.js';
import { getJson, type TestService } from '../support/in-process-service.js';
import { serviceOnStore } from '../support/service-on-store.js';
import { storeVariants } from '../support/store-variants.js';

describe.each(storeVariants())('the service on the $name log', (variant) => {
  const fixture = serviceOnStore(variant);
  let service: TestService;
  let client: IngestClient;

  /** Reads once the projections reflect every acknowledged event (immediately on SQLite). */
  async function read(url: string) {
    await service.whenProjected();
    return getJson(url);
  }

  beforeEach(async () => {
    service = await fixture.restart();
    client = await IngestClient.connect(service.ingestPort);
  });

  afterEach(async () => {
    await client.close();
  });

  describe("the original project's cases", () => {
    beforeEach(async () => {
      expect(await client.send('0,0,0,Bender')).toBe('OK');
      expect(await client.send('1,0,1,Bender')).toBe('OK');
      expect(await client.send('0,0,2,Bender')).toBe('OK');
    });

    it('stores three events for Bender with odometer 2', async () => {
      const robots = await read(`${service.http}/api/robots`);
      expect(robots.status).toBe(200);
      expect(robots.body).toEqual([
        { name: 'Bender', odometer: 2, first_timestamp: 0, last_timestamp: 2, last_x: 0, last_y: 0, event_count: 3 },
      ]);
      const events = await read(`${service.http}/api/robots/Bender/events`);
      expect(events.body).toEqual([
        { robot: 'Bender', x: 0, y: 0, timestamp: 0 },
        { robot: 'Bender', x: 1, y: 0, timestamp: 1 },
        { robot: 'Bender', x: 0, y: 0, timestamp: 2 },
      ]);
    });

    it('answers the odometer over [0, 1] as 1, and over everything as 2', async () => {
      expect((await read(`${service.http}/api/robots/Bender/odometer?start_time=0&end_time=1`)).body).toEqual({
        robot: 'Bender',
        odometer: 1,
        start_time: 0,
        end_time: 1,
      });
      expect((await read(`${service.http}/api/robots/Bender/odometer`)).body.odometer).toBe(2);
    });

    it('filters events by start and end time, inclusive, and swaps reversed bounds', async () => {
      const count = async (query: string) => (await read(`${service.http}/api/robots/Bender/events?${query}`)).body.length;
      expect(await count('start_time=0&end_time=2')).toBe(3);
      expect(await count('start_time=1')).toBe(2);
      expect(await count('end_time=1')).toBe(2);
      expect(await count('start_time=1&end_time=1')).toBe(1);
      expect(await count('start_time=2&end_time=1')).toBe(2);
      expect(await count('start_time=3')).toBe(0);
    });

    it('answers 404 for an unknown robot resource and odometer 0 for it', async () => {
      const resource = await read(`${service.http}/api/robots/Flexo`);
      expect(resource.status).toBe(404);
      expect(resource.body).toMatchObject({ statusCode: 404, code: 'TELEMETRY_ROBOT_NOT_FOUND', error: 'Not Found' });
      const odometer = await read(`${service.http}/api/robots/Flexo/odometer`);
      expect(odometer.status).toBe(200);
      expect(odometer.body.odometer).toBe(0);
      expect((await read(`${service.http}/api/robots/Flexo/events`)).body).toEqual([]);
    });

    it('treats robot names case-sensitively', async () => {
      expect((await read(`${service.http}/api/robots/bender`)).status).toBe(404);
    });
  });

  describe('ingest protocol', () => {
    it('answers each event of a frame in order: OK, DUP, STALE, ERR', async () => {
      expect(await client.sendEvents(['1,1,10,R2', '2,2,11,R2', '1,1,10,R2', '9,9,10,R2', '2,2,11,R2', 'oops', '3,3,12,R2\r'])).toEqual([
        'OK',
        'OK',
        'DUP',
        'STALE',
        'DUP',
        'ERR expected 4 comma-separated fields: x,y,timestamp,robot_name',
        'OK',
      ]);
      expect((await read(`${service.http}/api/robots/R2`)).body.event_count).toBe(3);
    });

    it('recognises a resend of older events as DUP and a changed one as STALE', async () => {
      const lines = Array.from({ length: 50 }, (_, i) => `${i},${-i},${1000 + i},Walker`);
      expect(await client.sendEvents(lines)).toEqual(lines.map(() => 'OK'));
      expect(await client.sendEvents(lines.slice(10, 20))).toEqual(lines.slice(10, 20).map(() => 'DUP'));
      expect(await client.send('7,7,1005,Walker')).toBe('STALE');
      expect(await client.send('0,0,999,Walker')).toBe('STALE');
      expect((await read(`${service.http}/api/robots/Walker`)).body.event_count).toBe(50);
    });

    it('replies to pipelined frames in the order they were sent', async () => {
      const replies = await Promise.all(
        Array.from({ length: 200 }, (_, i) => client.send(i % 7 === 0 ? `bad frame ${i}` : `${i},0,${i},Pipe${i % 3}`)),
      );
      replies.forEach((reply, i) => expect(reply).toBe(i % 7 === 0 ? 'ERR expected 4 comma-separated fields: x,y,timestamp,robot_name' : 'OK'));
    });

    it('rejects malformed events with a reason and stores nothing from them', async () => {
      const replies = await client.sendEvents([
        'NaN,0,1,Bad',
        '',
        '1,Infinity,1,Bad',
        '1,1,9007199254740992,Bad',
        '1,1,-1,Bad',
        '1,1,1, Bad',
        '1,1,1,Bad\u0007',
        `1,1,1,${'x'.repeat(151)}`,
        '1,1,1,Ba,d',
      ]);
      expect(replies).toEqual([
        'ERR x must be a finite decimal number',
        'ERR empty event',
        'ERR y must be a finite decimal number',
        'ERR timestamp must be an integer from 0 to 9007199254740991',
        'ERR timestamp must be an integer from 0 to 9007199254740991',
        'ERR robot_name must not start or end with whitespace',
        'ERR robot_name must not contain control characters',
        'ERR robot_name must be 1 to 150 characters',
        'ERR robot_name must not contain a comma',
      ]);
      expect((await read(`${service.http}/api/robots`)).body).toEqual([]);
    });

    it('answers binary and oversized frames with ERR and keeps the connection', async () => {
      expect(await client.send(Buffer.from('1,1,1,Bin'), { binary: true })).toBe('ERR binary frames are not accepted; send text frames');
      expect(await client.send(`1,1,1,Big\n${'9'.repeat(1024 * 1024)}`)).toBe('ERR frame exceeds 1048576 bytes');
      expect(await client.send('1,1,1,Fine')).toBe('OK');
      expect((await read(`${service.http}/api/robots`)).body.map((r: { name: string }) => r.name)).toEqual(['Fine']);
    });

    it('closes the connection on invalid UTF-8 without storing anything', async () => {
      const reply = client.send(Buffer.from([0x31, 0x2c, 0x31, 0x2c, 0x31, 0x2c, 0xff]), { binary: false });
      await expect(reply).rejects.toThrow(/socket closed/);
      const other = await IngestClient.connect(service.ingestPort);
      expect(await other.send('1,1,1,After')).toBe('OK');
      await other.close();
      expect((await read(`${service.http}/api/robots`)).body.map((r: { name: string }) => r.name)).toEqual(['After']);
    });

    it('accepts names with spaces, commas excluded, and non-ASCII; REST paths are percent-decoded', async () => {
      expect(await client.send('1,2,3,Rob Oto')).toBe('OK');
      expect(await client.send('4,6,4,Robôt/7 ✓')).toBe('OK');
      expect((await read(`${service.http}/api/robots/Rob%20Oto`)).body.name).toBe('Rob Oto');
      const name = encodeURIComponent('Robôt/7 ✓');
      expect((await read(`${service.http}/api/robots/${name}`)).body).toMatchObject({ name: 'Robôt/7 ✓', event_count: 1 });
    });
  });

  describe('REST', () => {
    it('pages events with an RFC 8288 Link header', async () => {
      const lines = Array.from({ length: 25 }, (_, i) => `${i},0,${i * 10},Pager`);
      await client.sendEvents(lines);
      const seen: number[] = [];
      let url: string | null = `${service.http}/api/robots/Pager/events?start_time=15&limit=10`;
      let pages = 0;
      while (url !== null) {
        const page = await read(url);
        expect(page.status).toBe(200);
        seen.push(...page.body.map((e: { timestamp: number }) => e.timestamp));
        const link = page.headers.get('link');
        url = link === null ? null : `${service.http}${/^<([^>]+)>; rel="next"$/.exec(link)![1]}`;
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => (i + 2) * 10));
    });

    it.each([
      ['start_time=abc', 'start_time'],
      ['end_time=-5', 'end_time'],
      ['start_time=1.5', 'start_time'],
      ['end_time=9007199254740992', 'end_time'],
      ['start_time=1&start_time=2', 'start_time'],
      ['limit=0', 'limit'],
      ['limit=100001', 'limit'],
    ])('answers 400 JSON for %s', async (query, field) => {
      const response = await read(`${service.http}/api/robots/Bender/events?${query}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'TELEMETRY_INVALID_QUERY', error: 'Bad Request' });
      expect(response.body.message).toContain(field);
    });

    it('answers unknown routes and bad robot names with JSON errors', async () => {
      const route = await read(`${service.http}/nope`);
      expect(route.status).toBe(404);
      expect(route.body).toMatchObject({ statusCode: 404, code: 'TELEMETRY_ROUTE_NOT_FOUND' });
      const name = await read(`${service.http}/api/robots/%20lead`);
      expect(name.status).toBe(400);
      expect(name.body.code).toBe('TELEMETRY_INVALID_ROBOT_NAME');
    });

    it('reports health', async () => {
      expect(await read(`${service.http}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    });
  });
});
