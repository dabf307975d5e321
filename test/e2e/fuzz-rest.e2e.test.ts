// Fuzzing REST path parameters and query strings against a real listener (seeded): percent-encoded
// bytes (NUL, `/`, `..`, invalid UTF-8), raw and huge names, unicode, odd and repeated query
// parameters. Every answer must be a 2xx, or a 4xx whose JSON body has our error shape — never a 5xx.
// Requests go out through node:http with the path exactly as built (fetch would normalise it).

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomInt } from '../../src/tools/random.js';
import { IngestClient } from '../support/ingest-client.js';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { makeTempDir } from '../support/temp-dir.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CASES = 3000;
const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const dir = makeTempDir();
let service: TestService;

beforeAll(async () => {
  service = await startTestService({ TELEMETRY_DATA_DIR: dir.path });
  const client = await IngestClient.connect(service.ingestPort);
  // A few robots, some with names that need encoding, so routes answer with data as well as errors.
  expect(await client.sendEvents(['1,2,10,Bender', '3,4,20,Bender', '0,0,5,rob oto', '1,1,7,ロボ', '2,2,9,...'])).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);
  await client.close();
  await service.whenProjected();
});

afterAll(async () => {
  await service.close();
  dir.remove();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: service.httpPort, path, method: 'GET', headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type'] ?? ''), text }));
    });
    req.once('error', reject);
    req.end();
  });
}

const PIECES = [
  'Bender', 'rob%20oto', '%E3%83%AD%E3%83%9C', '..', '...', '%2E%2E%2E', '%2E%2E', '.', '%2F', '%00', '%0A', '%0D%0A', '%C3%28', '%FF%FE',
  '%ED%A0%80', '%F0%9F%A4%96', '%', '%Z1', '%2', 'a%2Cb', '%20lead', 'trail%20', '%E2%80%A8', '%7F', '%C2%85', '~', '!',
  "'", '(', ')', '*', ';', '=', '@', '$', '+', ':', '%3F', '%23', '%25', '%5C',
];

function name(): string {
  switch (randomInt(random, 0, 5)) {
    case 0:
      return 'a'.repeat(randomInt(random, 140, 160));
    case 1:
      return '%F0%9F%A4%96'.repeat(randomInt(random, 140, 160));
    case 2:
      return 'z'.repeat(randomInt(random, 1000, 20_000));
    default:
      return Array.from({ length: randomInt(random, 0, 6) }, () => pick(PIECES)).join('');
  }
}

const VALUES = ['0', '1', '-1', '1.5', '1e3', 'NaN', 'Infinity', '9007199254740991', '9007199254740992', '99999999999999999999', '', '%00', '%FF', 'abc', '0x10', '%201', '100000', '100001'];
const KEYS = ['start_time', 'end_time', 'limit', 'format', 'token', 'x', '', '%00', 'start_time%00', '__proto__', 'constructor'];
const FORMATS = ['json', 'csv', 'geojson', 'gpx', 'xml', '', 'JSON', '%00'];

function query(): string {
  const parts = Array.from({ length: randomInt(random, 0, 5) }, () => {
    const key = pick(KEYS);
    const value = key === 'format' ? pick(FORMATS) : pick(VALUES);
    return random() < 0.1 ? key : `${key}=${value}`;
  });
  if (random() < 0.1) parts.push('&&&', '=', '==');
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function path(): string {
  switch (randomInt(random, 0, 6)) {
    case 0:
      return `/api/robots${query()}`;
    case 1:
      return `/api/robots/${name()}${query()}`;
    case 2:
    case 3:
      return `/api/robots/${name()}/events${query()}`;
    case 4:
      return `/api/robots/${name()}/odometer${query()}`;
    case 5:
      return `/api/admin/projections${query()}`;
    default:
      return `/${Array.from({ length: randomInt(random, 0, 4) }, () => pick(PIECES)).join('/')}${query()}`;
  }
}

describe(`REST fuzzing (seed ${SEED})`, () => {
  it(`answers ${CASES} random paths and queries with a 2xx or a JSON 4xx of our shape, never a 5xx`, async () => {
    const failures: string[] = [];
    const codes = new Map<string, number>();
    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const p = path();
      const accept = pick(['application/json', '*/*', 'text/csv', 'image/png', '']);
      let answer: Awaited<ReturnType<typeof get>>;
      try {
        answer = await get(p, accept === '' ? {} : { accept });
      } catch (error) {
        failures.push(`${p.slice(0, 120)} (length ${p.length}): ${(error as Error).message}`);
        continue;
      }
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const shown = `${p.slice(0, 120)} (Accept ${accept}) → ${answer.status} ${answer.text.slice(0, 160)}`;
      if (answer.status >= 500) {
        failures.push(shown);
        continue;
      }
      if (answer.status >= 400) {
        let body: any;
        try {
          body = JSON.parse(answer.text);
        } catch {
          failures.push(`not JSON: ${shown}`);
          continue;
        }
        const shaped =
          body.statusCode === answer.status &&
          typeof body.code === 'string' &&
          body.code.startsWith('TELEMETRY_') &&
          typeof body.error === 'string' &&
          typeof body.message === 'string';
        const json = answer.type.startsWith('application/json');
        if (shaped && json) codes.set(body.code, (codes.get(body.code) ?? 0) + 1);
        else failures.push(`not our error shape: ${shown}`);
      } else if (answer.status < 200 || answer.status >= 300) {
        failures.push(`unexpected status: ${shown}`);
      }
    }
    console.log(
      `REST fuzz seed ${SEED}: ${CASES} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}, ` +
        `error codes ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    // Answers decided before any route runs (the router, Node's HTTP parser) are ours too.
    for (const code of ['TELEMETRY_BAD_URL', 'TELEMETRY_URI_TOO_LONG', 'TELEMETRY_HEADERS_TOO_LARGE']) expect(codes.get(code) ?? 0).toBeGreaterThan(0);
    // The service still answers normally afterwards.
    expect((await get('/api/robots/Bender/events')).text).toBe('[{"robot":"Bender","x":1,"y":2,"timestamp":10},{"robot":"Bender","x":3,"y":4,"timestamp":20}]');
  }, 60_000);
});
