// The OpenAPI document and the route schemas: the document is OpenAPI 3.1 with every registered
// route, its parameters, responses and error codes; /docs serves the UI; schemas reject bad
// parameters with our JSON 400s and do not round or reject valid doubles on the way out.

import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/domain/errors.js';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { useAppFixture } from '../support/app-fixture.js';

const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string; description: string };
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;
const STATUS_OF_CODE = new Map(Object.values(ERRORS).map((e) => [e.code, e.statusCode]));

const fixture = useAppFixture();
const { store } = fixture;

/**
 * Every (method, path) the router holds, from Fastify's own route tree (`printRoutes`), in
 * OpenAPI path syntax — independent of what @fastify/swagger saw.
 */
function registeredRoutes(text: string): Array<[method: string, path: string]> {
  const routes: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    if (m[3] === undefined) continue;
    const path = stack.join('').replace(/:([A-Za-z_]+)/g, '{$1}');
    for (const method of m[3].split(', ')) routes.push([method.toLowerCase(), path]);
  }
  return routes;
}

/** Routes not meant for the document: the UI, the document itself, and the page's static files. */
const undocumented = (path: string) => path === '/' || path.startsWith('/docs') || /\.[a-z]+$/.test(path);

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document with every registered route, each with parameters and responses', async () => {
    const server = fixture.app();
    await server.ready();
    const response = await server.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const doc = response.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: PKG.name, version: PKG.version });
    expect(doc.info.description).toContain(PKG.description);

    const routes = registeredRoutes(server.printRoutes({ commonPrefix: false }));
    const expected = routes.filter(([method, path]) => method !== 'head' && !undocumented(path));
    // The ones this change is about, so an empty parse cannot pass.
    for (const route of [
      ['get', '/healthz'],
      ['get', '/api/robots'],
      ['get', '/api/robots/{robot}'],
      ['get', '/api/robots/{robot}/events'],
      ['get', '/api/robots/{robot}/odometer'],
      ['get', '/api/admin/projections'],
      ['post', '/api/admin/projections/rebuild'],
    ]) {
      expect(expected).toContainEqual(route);
    }
    for (const [method, path] of expected) expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} in the document`).toBeDefined();
    // …and nothing the router does not hold.
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of METHODS) if (item[method] !== undefined) expect(routes).toContainEqual([method, path]);
    }

    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of METHODS) {
        const operation = item[method];
        if (operation === undefined) continue;
        const where = `${method.toUpperCase()} ${path}`;
        expect(Object.keys(operation.responses ?? {}).length, `${where} has responses`).toBeGreaterThan(0);
        for (const [status, answer] of Object.entries<any>(operation.responses)) {
          expect(typeof answer.description, `${where} ${status} has a description`).toBe('string');
          expect(answer.content, `${where} ${status} has content`).toBeDefined();
          const errorSchema = answer.content['application/json']?.schema;
          if (Number(status) >= 400 && errorSchema !== undefined) {
            expect(errorSchema.required, `${where} ${status} is an error body`).toEqual(expect.arrayContaining(['statusCode', 'code', 'error', 'message']));
            // Every error code listed is in the registry, with this status.
            for (const code of errorSchema.properties.code.enum ?? []) expect(STATUS_OF_CODE.get(code), `${where}: ${code}`).toBe(Number(status));
          }
        }
        for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
          const parameter = operation.parameters?.find((p: any) => p.in === 'path' && `{${p.name}}` === name);
          expect(parameter, `${where} documents ${name}`).toMatchObject({ required: true, schema: { type: 'string' } });
        }
      }
    }
    await server.close();
  });

  it('describes the events route: its query, its four media types and its error codes', async () => {
    const server = fixture.app();
    const doc = (await server.inject('/openapi.json')).json();
    const events = doc.paths['/api/robots/{robot}/events'].get;
    const query = Object.fromEntries(events.parameters.filter((p: any) => p.in === 'query').map((p: any) => [p.name, p]));
    expect(Object.keys(query).sort()).toEqual(['end_time', 'format', 'limit', 'start_time']);
    expect(query.format.schema.enum).toEqual(['json', 'csv', 'geojson', 'gpx']);
    expect(query.start_time.schema).toMatchObject({ type: 'string', pattern: '^[0-9]{1,16}$' });
    expect(query.start_time.required).toBeFalsy();
    expect(Object.keys(events.responses[200].content).sort()).toEqual(['application/geo+json', 'application/gpx+xml', 'application/json', 'text/csv']);
    expect(events.responses[200].content['application/json'].schema.items.properties).toMatchObject({
      x: { type: 'number' },
      y: { type: 'number' },
      timestamp: { type: 'number' },
    });
    expect(events.responses[400].content['application/json'].schema.properties.code.enum).toEqual(
      expect.arrayContaining(['TELEMETRY_INVALID_QUERY', 'TELEMETRY_INVALID_ROBOT_NAME']),
    );
    expect(events.responses[406].content['application/json'].schema.properties.code.enum).toEqual(['TELEMETRY_NOT_ACCEPTABLE']);
    expect(events.responses[503].content['application/json'].schema.properties.code.enum).toEqual(['TELEMETRY_NOT_READY', 'TELEMETRY_STORE_UNAVAILABLE']);
    expect(doc.paths['/api/robots/{robot}'].get.responses[404].content['application/json'].schema.properties.code.enum).toEqual(['TELEMETRY_ROBOT_NOT_FOUND']);
    expect(doc.paths['/api/admin/projections/rebuild'].post.responses).toHaveProperty('202');
    expect(doc.paths['/api/admin/projections/rebuild'].post.responses).toHaveProperty('409');
    await server.close();
  });
});

describe('over real HTTP from the service', () => {
  let service: TestService | undefined;

  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  it('serves the document and the Swagger UI at /docs', async () => {
    service = await startTestService({ TELEMETRY_DATA_DIR: fixture.dataDir });
    const doc: any = await (await fetch(`${service.http}/openapi.json`)).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths).toHaveProperty(['/api/robots/{robot}/events']);
    const page = await fetch(`${service.http}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/swagger-ui/i);
    // The UI loads its copy of the same document.
    const uiDoc: any = await (await fetch(`${service.http}/docs/json`)).json();
    expect(Object.keys(uiDoc.paths).sort()).toEqual(Object.keys(doc.paths).sort());
  });
});

describe('schemas', () => {
  it.each([
    ['a,b', 'robot_name must not contain a comma'],
    ['tab%09bed', 'robot_name must not contain control characters'],
    ['%C2%85nel', 'robot_name must not contain control characters'],
    ['%20lead', 'robot_name must not start or end with whitespace'],
    ['trail%C2%A0', 'robot_name must not start or end with whitespace'],
    ['x'.repeat(151), 'robot_name must be 1 to 150 characters'],
  ])('reject the robot name %s with TELEMETRY_INVALID_ROBOT_NAME and the domain reason', async (name, reason) => {
    const server = fixture.app();
    for (const route of ['', '/odometer', '/events']) {
      const response = await server.inject(`/api/robots/${name}${route}`);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ statusCode: 400, code: 'TELEMETRY_INVALID_ROBOT_NAME', error: 'Bad Request', message: `Invalid robot name: ${reason}` });
    }
    await server.close();
  });

  it('accept names the domain accepts: 150 code points of astral characters, inner spaces, quotes', async () => {
    const server = fixture.app();
    for (const name of ['🤖'.repeat(150), 'Rob Oto', `R"2'D2`, 'Robôt/7 ✓']) {
      const response = await server.inject(`/api/robots/${encodeURIComponent(name)}`);
      expect(response.statusCode, name).toBe(404);
      expect(response.json().code).toBe('TELEMETRY_ROBOT_NOT_FOUND');
    }
    await server.close();
  });

  it.each([
    ['start_time=abc', 'start_time must be an integer from 0 to 9007199254740991, got "abc"'],
    ['end_time=-5', 'end_time must be an integer from 0 to 9007199254740991, got "-5"'],
    ['start_time=1e3', 'start_time must be an integer from 0 to 9007199254740991, got "1e3"'],
    ['start_time=0x10', 'start_time must be an integer from 0 to 9007199254740991, got "0x10"'],
    ['start_time=%205', 'start_time must be an integer from 0 to 9007199254740991, got " 5"'],
    ['end_time=9007199254740992', 'end_time must be an integer from 0 to 9007199254740991, got "9007199254740992"'],
    ['start_time=1&start_time=2', 'start_time must be given once'],
  ])('reject ?%s on the odometer with the parser’s message', async (query, message) => {
    const server = fixture.app();
    const response = await server.inject(`/api/robots/Bender/odometer?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ statusCode: 400, code: 'TELEMETRY_INVALID_QUERY', error: 'Bad Request', message: `Invalid query: ${message}` });
    await server.close();
  });

  it('serialise doubles exactly and overflowed odometers as null', async () => {
    await store('Exact', [0.1, 0.2, 0, 1 / 3, -2 / 3, 9007199254740991]);
    await store('Huge', [1e308, 0, 0, -1e308, 0, 10, 1e308, 0, 20]);
    const server = fixture.app();
    const summary = (await server.inject('/api/robots/Exact')).json();
    expect(summary).toEqual({
      name: 'Exact',
      odometer: Math.sqrt((1 / 3 - 0.1) ** 2 + (-2 / 3 - 0.2) ** 2),
      first_timestamp: 0,
      last_timestamp: 9007199254740991,
      last_x: 1 / 3,
      last_y: -2 / 3,
      event_count: 2,
    });
    expect((await server.inject('/api/robots')).json()).toHaveLength(2);
    const odometer = await server.inject('/api/robots/Exact/odometer?end_time=9007199254740991');
    expect(odometer.json()).toEqual({ robot: 'Exact', odometer: summary.odometer, start_time: 0, end_time: 9007199254740991 });
    // Infinity − Infinity and Infinity: both null, as before the schemas, not a 500.
    const nan = await server.inject('/api/robots/Huge/odometer?start_time=10&end_time=20');
    expect(nan.statusCode).toBe(200);
    expect(nan.json().odometer).toBeNull();
    expect((await server.inject('/api/robots/Huge/odometer')).json().odometer).toBeNull();
    expect((await server.inject('/api/robots/Huge')).json().odometer).toBeNull();
    await server.close();
  });

  it('answer /healthz and the admin routes through their response schemas unchanged', async () => {
    const server = fixture.app();
    expect((await server.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await server.inject('/api/admin/projections')).json()).toEqual({
      version: 1,
      status: 'ready',
      robots: 0,
      events: 0,
      position: '0',
      log_position: '0',
      caught_up: true,
      checkpoint: null,
      rebuild: null,
    });
    const rebuild = await server.inject({ method: 'POST', url: '/api/admin/projections/rebuild' });
    expect(rebuild.statusCode).toBe(409);
    expect(rebuild.json()).toMatchObject({ statusCode: 409, code: 'TELEMETRY_REBUILD_RUNNING', error: 'Conflict' });
    await server.close();
  });
});
