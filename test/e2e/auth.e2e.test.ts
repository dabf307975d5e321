// Authentication end to end, over the real uWebSockets.js socket and the real HTTP listener: tokens
// checked before the upgrade (401/403 and no socket), `?token=`, per-robot scopes inside mixed
// frames (and what the log then holds), REST 401/403 JSON, admin routes.

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, tryUpgrade, writeTokens } from '../support/auth-tokens.js';
import { IngestClient } from '../support/ingest-client.js';
import { startTestService, type TestService } from '../support/in-process-service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { mintToken } from '../../src/auth/token.js';

describe('the service with a tokens file', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let service: TestService;
  let clients: IngestClient[];
  let robot: string, prefix: string, fleet: string, reader: string, admin: string;

  beforeEach(async () => {
    dir = makeTempDir();
    const file = join(dir.path, 'tokens.json');
    [robot, prefix, fleet, reader, admin] = writeTokens(file, [
      { type: 'robots', robots: ['Bender', 'Calculon'] },
      { type: 'prefix', prefix: 'wh1-' },
      { type: 'fleet' },
      { type: 'read' },
      { type: 'admin' },
    ]).map((t) => t.token) as [string, string, string, string, string];
    clients = [];
    service = await startTestService({ TELEMETRY_DATA_DIR: dir.path, TELEMETRY_TOKENS_FILE: file });
  });

  afterEach(async () => {
    for (const client of clients) await client.close();
    await service.close();
    dir.remove();
  });

  async function connect(headers: Record<string, string>, path = '/upstream'): Promise<IngestClient> {
    const client = await IngestClient.connect(service.ingestPort, path, headers);
    clients.push(client);
    return client;
  }

  async function get(path: string, token?: string) {
    const response = await fetch(`${service.http}${path}`, { headers: token === undefined ? {} : bearer(token) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  }

  async function storedEvents(robotName: string): Promise<Array<{ robot: string; timestamp: number }>> {
    await service.whenProjected();
    const answer = await get(`/api/robots/${encodeURIComponent(robotName)}/events`, reader);
    expect(answer.status).toBe(200);
    return answer.body;
  }

  describe('ingest upgrade', () => {
    it.each([
      ['no token', {}, '/upstream'],
      ['a malformed token', bearer('not-a-token'), '/upstream'],
      ['an unknown token', bearer(mintToken().token), '/upstream'],
      ['a Basic header', { authorization: 'Basic dXNlcjpwdw==' }, '/upstream'],
      ['an unknown ?token=', {}, `/upstream?token=${mintToken().token}`],
    ])('answers %s with 401 JSON and opens no socket', async (_name, headers, path) => {
      const outcome = await tryUpgrade(service.ingestPort, path, headers);
      expect(outcome.opened).toBe(false);
      if (outcome.opened) return;
      expect(outcome.status).toBe(401);
      expect(outcome.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(outcome.body).toMatchObject({ statusCode: 401, code: 'TELEMETRY_UNAUTHORIZED', error: 'Unauthorized' });
      expect(outcome.body.message).toMatch(/^Unauthorized: /);
    });

    it('answers a read or admin token with 403 JSON: they can write nothing', async () => {
      for (const token of [reader, admin]) {
        const outcome = await tryUpgrade(service.ingestPort, '/upstream', bearer(token));
        expect(outcome).toMatchObject({ opened: false, status: 403, body: { statusCode: 403, code: 'TELEMETRY_FORBIDDEN', error: 'Forbidden' } });
      }
    });

    it('opens with a valid token in the header or in ?token=', async () => {
      expect(await tryUpgrade(service.ingestPort, '/upstream', bearer(fleet))).toEqual({ opened: true });
      expect(await tryUpgrade(service.ingestPort, `/upstream?token=${fleet}`)).toEqual({ opened: true });
      const client = await connect({}, `/upstream?token=${robot}`);
      expect(await client.send('1,1,1,Bender')).toBe('OK');
    });
  });

  describe('write scopes', () => {
    it('a robots token: its robots are stored, others answered ERR forbidden robot in order, and not stored', async () => {
      const client = await connect(bearer(robot));
      expect(await client.sendEvents(['0,0,0,Bender', '1,1,0,Flexo', '1,0,1,Bender', 'x,0,1,Flexo', '5,5,5,Calculon', '2,2,2,bender'])).toEqual([
        'OK',
        'ERR forbidden robot',
        'OK',
        'ERR x must be a finite decimal number',
        'OK',
        'ERR forbidden robot',
      ]);
      expect((await storedEvents('Bender')).map((e) => e.timestamp)).toEqual([0, 1]);
      expect(await storedEvents('Flexo')).toEqual([]);
      expect(await storedEvents('bender')).toEqual([]);
      const robots = await get('/api/robots', reader);
      expect(robots.body.map((r: { name: string }) => r.name)).toEqual(['Bender', 'Calculon']);
    });

    it('a prefix token writes only robots whose name starts with the prefix', async () => {
      const client = await connect(bearer(prefix));
      expect(await client.sendEvents(['0,0,0,wh1-a', '0,0,0,wh2-a', '0,0,0,wh1-', '0,0,0,xwh1-a'])).toEqual([
        'OK',
        'ERR forbidden robot',
        'OK',
        'ERR forbidden robot',
      ]);
      const robots = await get('/api/robots', reader);
      expect(robots.body.map((r: { name: string }) => r.name)).toEqual(['wh1-', 'wh1-a']);
    });

    it('a fleet token writes any robot', async () => {
      const client = await connect(bearer(fleet));
      expect(await client.sendEvents(['0,0,0,Bender', '0,0,0,Flexo', '0,0,0,wh9-z'])).toEqual(['OK', 'OK', 'OK']);
      expect((await get('/api/robots', reader)).body).toHaveLength(3);
    });
  });

  describe('REST', () => {
    it('answers 401 JSON with WWW-Authenticate without a valid token', async () => {
      for (const token of [undefined, 'garbage', mintToken().token]) {
        const answer = await get('/api/robots', token);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(answer.body).toMatchObject({ statusCode: 401, code: 'TELEMETRY_UNAUTHORIZED', error: 'Unauthorized' });
      }
      // Also for paths that would be 404: the guard comes first.
      expect((await get('/api/nothing-here')).status).toBe(401);
    });

    it('answers 403 JSON to writing tokens: gateways and robots are not analysts', async () => {
      for (const token of [robot, prefix, fleet]) {
        const answer = await get('/api/robots', token);
        expect(answer.status).toBe(403);
        expect(answer.body).toMatchObject({ statusCode: 403, code: 'TELEMETRY_FORBIDDEN', error: 'Forbidden' });
      }
    });

    it('serves reads to read and admin tokens, in the header or in ?token=', async () => {
      expect((await get('/api/robots', reader)).status).toBe(200);
      expect((await get('/api/robots', admin)).status).toBe(200);
      expect((await get(`/api/robots/Bender/odometer?token=${reader}`)).status).toBe(200);
      expect((await get(`/api/robots?token=${fleet}`)).status).toBe(403);
    });

    it('does not let a percent-encoded path slip past the guard', async () => {
      // The router decodes it onto /api/robots (a reader gets the list), so the raw path alone is not enough.
      expect((await get('/%61pi/robots', reader)).status).toBe(200);
      expect(await get('/%61pi/robots')).toMatchObject({ status: 401, body: { code: 'TELEMETRY_UNAUTHORIZED' } });
    });

    it('keeps /healthz open', async () => {
      expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    });

    it('keeps admin routes to admin tokens: analysts cannot trigger rebuilds', async () => {
      const rebuildAs = (token: string) => fetch(`${service.http}/api/admin/projections/rebuild`, { method: 'POST', headers: bearer(token) });
      const refused = await rebuildAs(reader);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'TELEMETRY_FORBIDDEN', message: expect.stringContaining('need an admin token') });
      expect((await get('/api/admin/projections', reader)).status).toBe(403);
      expect((await get('/api/admin/projections', fleet)).status).toBe(403);
      expect((await get('/api/admin/projections')).status).toBe(401);
      expect((await get('/api/admin/projections', admin)).status).toBe(200);
      const accepted = await rebuildAs(admin);
      expect(accepted.status).toBe(202);
      await accepted.json();
    });
  });
});
