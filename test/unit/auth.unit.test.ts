// Authentication pieces without sockets: the token format, hashing and the constant-time check,
// scopes and their hot-path filters, tokens file validation, the open/refuse decision, and the
// access decisions for ingest and REST.

import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import * as crypto from 'node:crypto';
import { checkIngest, checkRest, presentedToken } from '../../src/auth/access.js';
import { decideAuthMode, isLoopback } from '../../src/auth/auth-mode.js';
import { restNeed } from '../../src/auth/rest-hook.js';
import { allowsRobot, describeScope, parseScope, writeAccess, type Scope } from '../../src/auth/scope.js';
import { TokenSet } from '../../src/auth/token-set.js';
import { ID_HEX_LENGTH, mintToken, SECRET_LENGTH, TOKEN_PREFIX, tokenDigest, tokenId } from '../../src/auth/token.js';
import { parseTokensFile, type TokenEntry } from '../../src/auth/tokens-file.js';
import { ERR_FORBIDDEN_ROBOT } from '../../src/domain/outcome.js';

vi.mock('node:crypto', async (importOriginal) => {
  // Spy (not replace) timingSafeEqual, to see that every check goes through it.
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

function entry(scope: Scope, minted = mintToken()): { token: string; entry: TokenEntry } {
  return { token: minted.token, entry: { id: minted.id, sha256: minted.sha256, scope, created: '2025-01-01T00:00:00.000Z' } };
}

describe('token format', () => {
  it('is tlm_<12 hex id>_<43 base64url secret>, 256 random bits, different every time', () => {
    const a = mintToken();
    const b = mintToken();
    expect(a.token).toMatch(new RegExp(`^${TOKEN_PREFIX}[0-9a-f]{${ID_HEX_LENGTH}}_[A-Za-z0-9_-]{${SECRET_LENGTH}}$`));
    expect(Buffer.from(a.token.slice(TOKEN_PREFIX.length + ID_HEX_LENGTH + 1), 'base64url')).toHaveLength(32);
    expect(a.token).not.toBe(b.token);
    expect(a.id).not.toBe(b.id);
    expect(tokenId(a.token)).toBe(a.id);
  });

  it('stores the hex SHA-256 of the whole token', () => {
    const minted = mintToken();
    expect(minted.sha256).toBe(crypto.createHash('sha256').update(minted.token).digest('hex'));
    expect(tokenDigest(minted.token).toString('hex')).toBe(minted.sha256);
  });

  it.each([
    '',
    'tlm_',
    'Bearer tlm_0123456789ab_' + 'a'.repeat(43),
    'tlm_0123456789AB_' + 'a'.repeat(43), // upper-case id
    'tlm_0123456789a_' + 'a'.repeat(44), // id one short
    'tlm_0123456789ab_' + 'a'.repeat(42), // secret one short
    'tlm_0123456789ab_' + 'a'.repeat(44), // secret one long
    'tlm_0123456789ab_' + 'a'.repeat(42) + '=', // padding is not base64url
    'xyz_0123456789ab_' + 'a'.repeat(43),
    'tlm_0123456789ab_' + 'a'.repeat(43) + '\n',
  ])('refuses the malformed token %j', (token) => {
    expect(tokenId(token)).toBeNull();
  });

  it('accepts a secret holding _ and - (base64url), since the id is hex', () => {
    expect(tokenId('tlm_0123456789ab_' + '_-'.repeat(21) + 'A')).toBe('0123456789ab');
  });
});

describe('TokenSet', () => {
  const robot = entry({ type: 'robots', robots: ['Bender'] });
  const reader = entry({ type: 'read' });
  const tokens = new TokenSet([robot.entry, reader.entry]);

  it('grants a listed token its scope', () => {
    expect(tokens.authenticate(robot.token)?.scope).toEqual({ type: 'robots', robots: ['Bender'] });
    expect(tokens.authenticate(reader.token)?.id).toBe(reader.entry.id);
  });

  it('refuses a right id with a wrong secret, an unknown id and a malformed token', () => {
    const wrongSecret = robot.token.slice(0, -1) + (robot.token.endsWith('A') ? 'B' : 'A');
    expect(tokens.authenticate(wrongSecret)).toBeNull();
    expect(tokens.authenticate(mintToken().token)).toBeNull();
    expect(tokens.authenticate('nope')).toBeNull();
  });

  it('compares digests with crypto.timingSafeEqual for known and unknown ids alike', () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    spy.mockClear();
    tokens.authenticate(robot.token);
    tokens.authenticate(robot.token.slice(0, -1) + (robot.token.endsWith('A') ? 'B' : 'A'));
    tokens.authenticate(mintToken().token);
    expect(spy).toHaveBeenCalledTimes(3);
    for (const [a, b] of spy.mock.calls) {
      expect((a as Buffer).length).toBe(32);
      expect((b as Buffer).length).toBe(32);
    }
  });

  it('knows whether a grant survives a new set: removed or changed entries do not', () => {
    const grant = tokens.authenticate(robot.token)!;
    expect(new TokenSet([robot.entry]).stillGrants(grant)).toBe(true);
    expect(new TokenSet([reader.entry]).stillGrants(grant)).toBe(false);
    expect(new TokenSet([{ ...robot.entry, scope: { type: 'fleet' } }]).stillGrants(grant)).toBe(false);
  });
});

describe('scopes', () => {
  it('filters robots with a Set, a prefix with startsWith, and the fleet not at all', () => {
    const list = writeAccess({ type: 'robots', robots: ['Bender', 'Calculon'] })!;
    expect(allowsRobot(list, 'Bender')).toBe(true);
    expect(allowsRobot(list, 'Calculon')).toBe(true);
    expect(allowsRobot(list, 'Bender2')).toBe(false);
    expect(allowsRobot(list, 'bender')).toBe(false);
    const prefix = writeAccess({ type: 'prefix', prefix: 'wh1-' })!;
    expect(allowsRobot(prefix, 'wh1-a')).toBe(true);
    expect(allowsRobot(prefix, 'wh1-')).toBe(true);
    expect(allowsRobot(prefix, 'wh2-a')).toBe(false);
    expect(allowsRobot(prefix, 'WH1-a')).toBe(false);
    expect(writeAccess({ type: 'fleet' })).toBeNull();
    expect(writeAccess({ type: 'read' })).toBeUndefined();
    expect(writeAccess({ type: 'admin' })).toBeUndefined();
  });

  it('describes itself in one line', () => {
    expect(describeScope({ type: 'robots', robots: ['A', 'B'] })).toBe('robots A,B');
    expect(describeScope({ type: 'prefix', prefix: 'wh-' })).toBe('prefix "wh-"');
    expect(describeScope({ type: 'admin' })).toBe('admin');
  });

  it.each([
    [null, 'scope must be an object with a "type" (robots, prefix, fleet, read, admin)'],
    [{ type: 'root' }, 'scope.type must be one of robots, prefix, fleet, read, admin, got "root"'],
    [{ type: 'robots', robots: [] }, 'scope.robots must be a non-empty array of robot names'],
    [{ type: 'robots', robots: ['a,b'] }, 'scope.robots[0]: robot_name must not contain a comma'],
    [{ type: 'robots', robots: ['ok', 3] }, 'scope.robots[1]: robot_name must be a string'],
    [{ type: 'prefix', prefix: '' }, 'scope.prefix: prefix must not be empty'],
    [{ type: 'prefix', prefix: ' x' }, 'scope.prefix: prefix must not start or end with whitespace'],
    [{ type: 'fleet', robots: ['a'] }, 'scope has an unknown key "robots" for type fleet'],
  ])('refuses %j', (value, message) => {
    expect(() => parseScope(value, 'scope')).toThrow(message);
  });

  it('accepts a prefix ending in a space', () => {
    expect(parseScope({ type: 'prefix', prefix: 'Dock 7 ' }, 'scope')).toEqual({ type: 'prefix', prefix: 'Dock 7 ' });
  });
});

describe('tokens file validation', () => {
  const good = entry({ type: 'fleet' }).entry;
  const parse = (json: unknown) => parseTokensFile(typeof json === 'string' ? json : JSON.stringify(json), '/t.json');

  it('reads a valid file', () => {
    expect(parse({ version: 1, tokens: [good] }).tokens).toEqual([good]);
    expect(parse({ version: 1, tokens: [] }).tokens).toEqual([]);
  });

  it.each([
    ['{', /^tokens file \/t\.json is not valid JSON: /],
    [[], 'tokens file /t.json: must be a JSON object {"version": 1, "tokens": [...]}'],
    [{ version: 2, tokens: [] }, 'tokens file /t.json: version must be 1, got 2'],
    [{ version: 1 }, 'tokens file /t.json: tokens must be an array'],
    [{ version: 1, tokens: [{ ...good, id: 'XYZ' }] }, 'tokens file /t.json: tokens[0].id must be 12 lowercase hex digits, got "XYZ"'],
    [{ version: 1, tokens: [{ ...good, sha256: 'abc' }] }, 'tokens file /t.json: tokens[0].sha256 must be 64 lowercase hex digits'],
    [{ version: 1, tokens: [{ ...good, created: 'yesterday' }] }, 'tokens file /t.json: tokens[0].created must be an ISO 8601 date'],
    [{ version: 1, tokens: [{ ...good, label: 'a\nb' }] }, /tokens\[0\]\.label must be a string/],
    [{ version: 1, tokens: [{ ...good, secret: 'x' }] }, 'tokens file /t.json: tokens[0] has unknown key "secret"'],
    [{ version: 1, tokens: [good, good] }, `tokens file /t.json: tokens[1].id ${good.id} appears twice`],
    [{ version: 1, tokens: [{ ...good, scope: { type: 'robots' } }] }, 'tokens file /t.json: tokens[0].scope.robots must be a non-empty array of robot names'],
  ])('refuses %j', (json, message) => {
    expect(() => parse(json)).toThrow(message);
  });
});

describe('the open/refuse decision', () => {
  const none = () => false;
  const base = { host: '127.0.0.1', dataDir: '/data', tokensFile: undefined, auth: 'on' as const };

  it.each(['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])('%s is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', 'localhost.example.com', '::2'])('%s is not loopback', (host) => {
    expect(isLoopback(host)).toBe(false);
  });

  it('runs open on loopback without a tokens file', () => {
    expect(decideAuthMode(base, none)).toEqual({ kind: 'open', why: 'loopback' });
  });

  it('refuses any other address without a tokens file, naming the way out', () => {
    expect(() => decideAuthMode({ ...base, host: '0.0.0.0' }, none)).toThrow(
      expect.objectContaining({ code: 'TELEMETRY_CONFIG_INVALID', message: expect.stringContaining('refusing to listen on 0.0.0.0 without authentication') }),
    );
    expect(() => decideAuthMode({ ...base, host: '0.0.0.0' }, none)).toThrow('TELEMETRY_AUTH=off');
  });

  it('runs open anywhere with TELEMETRY_AUTH=off, even beside a tokens file', () => {
    expect(decideAuthMode({ ...base, host: '0.0.0.0', auth: 'off' }, () => true)).toEqual({ kind: 'open', why: 'auth off' });
  });

  it('uses TELEMETRY_TOKENS_FILE, which must exist', () => {
    expect(decideAuthMode({ ...base, tokensFile: '/etc/t.json' }, (p) => p === '/etc/t.json')).toEqual({
      kind: 'tokens',
      file: '/etc/t.json',
      from: 'TELEMETRY_TOKENS_FILE',
    });
    expect(() => decideAuthMode({ ...base, tokensFile: '/etc/t.json' }, none)).toThrow('TELEMETRY_TOKENS_FILE names /etc/t.json, which does not exist');
  });

  it('else uses <data dir>/tokens.json when it exists, on any address', () => {
    expect(decideAuthMode({ ...base, host: '0.0.0.0' }, (p) => p === '/data/tokens.json')).toEqual({
      kind: 'tokens',
      file: '/data/tokens.json',
      from: 'data dir',
    });
  });
});

describe('access decisions', () => {
  const robot = entry({ type: 'robots', robots: ['Bender'] });
  const fleet = entry({ type: 'fleet' });
  const reader = entry({ type: 'read' });
  const admin = entry({ type: 'admin' });
  const tokens = new TokenSet([robot, fleet, reader, admin].map((t) => t.entry));

  it('takes the token from the Authorization header, else ?token=', () => {
    expect(presentedToken('Bearer abc', 'q')).toBe('abc');
    expect(presentedToken('bearer  abc ', undefined)).toBe('abc');
    expect(presentedToken(undefined, 'q')).toBe('q');
    expect(presentedToken(undefined, undefined)).toBe('');
    expect(presentedToken('Basic dXNlcjpwdw==', 'q')).toBeNull();
    expect(presentedToken('Bearer a b', undefined)).toBeNull();
  });

  it('ingest: 401 without a valid token, 403 for read and admin tokens, a filter for writers', () => {
    expect(checkIngest(tokens, '')).toMatchObject({ status: 401, error: { code: 'TELEMETRY_UNAUTHORIZED' } });
    expect(checkIngest(tokens, null)).toMatchObject({ status: 401 });
    expect(checkIngest(tokens, mintToken().token)).toMatchObject({ status: 401 });
    expect(checkIngest(tokens, reader.token)).toMatchObject({ status: 403, error: { code: 'TELEMETRY_FORBIDDEN' } });
    expect(checkIngest(tokens, admin.token)).toMatchObject({ status: 403 });
    expect(checkIngest(tokens, fleet.token)).toMatchObject({ access: null });
    const decision = checkIngest(tokens, robot.token);
    expect('access' in decision && decision.access !== null && allowsRobot(decision.access, 'Bender')).toBe(true);
  });

  it('REST: reads need read or admin, admin routes need admin, writers get 403', () => {
    expect(checkRest(tokens, reader.token, 'read')).toMatchObject({ grant: { id: reader.entry.id } });
    expect(checkRest(tokens, admin.token, 'read')).toMatchObject({ grant: { id: admin.entry.id } });
    expect(checkRest(tokens, admin.token, 'admin')).toMatchObject({ grant: { id: admin.entry.id } });
    expect(checkRest(tokens, reader.token, 'admin')).toMatchObject({ status: 403 });
    expect(checkRest(tokens, fleet.token, 'read')).toMatchObject({ status: 403 });
    expect(checkRest(tokens, robot.token, 'read')).toMatchObject({ status: 403 });
    expect(checkRest(tokens, '', 'read')).toMatchObject({ status: 401 });
  });

  it('guards /api/*, /api/admin/* and /metrics, and nothing else', () => {
    expect(restNeed('/api/robots')).toBe('read');
    expect(restNeed('/api/robots/:robot/events')).toBe('read');
    expect(restNeed('/api/live')).toBe('read');
    expect(restNeed('/api')).toBe('read');
    expect(restNeed('/api/admin/projections')).toBe('admin');
    expect(restNeed('/metrics')).toBe('read');
    for (const open of ['/', '/healthz', '/docs', '/docs/static/index.html', '/openapi.json', '/app.js', '/apix', '/metricsx']) {
      expect(restNeed(open), open).toBeNull();
    }
  });
});

describe('docs/errors.md', () => {
  it(`documents ${ERR_FORBIDDEN_ROBOT}`, () => {
    expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toContain(`\`${ERR_FORBIDDEN_ROBOT}\``);
  });
});
