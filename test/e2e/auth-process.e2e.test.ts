// Authentication as processes see it: `npm run token` (its source, run by tsx) minting, listing and
// revoking against a running service that picks each change up live; the secure default (no
// tokens off loopback → exit 2; TELEMETRY_AUTH=off → start, loudly); unusable tokens files.

import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, tryUpgrade, writeTokens } from '../support/auth-tokens.js';
import { IngestClient } from '../support/ingest-client.js';
import { useSpawnedServices } from '../support/spawned-service.js';
import { makeTempDir } from '../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dirs: Array<ReturnType<typeof makeTempDir>> = [];
const clients: IngestClient[] = [];

function tempDir(): string {
  const dir = makeTempDir();
  dirs.push(dir);
  return dir.path;
}

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const dir of dirs.splice(0)) dir.remove();
});

// After the hook above in the file, so it runs first: vitest runs after-hooks as a stack, and
// services must be gone before their dirs (or mounts) are.
const start = useSpawnedServices();

/** Runs the token tool from sources, as `npm run token -- …args` runs its build. */
function tokenTool(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/tools/token.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mint(file: string, ...args: string[]): Promise<string> {
  const run = await tokenTool([...args, '--file', file]);
  expect(run.code, run.stderr).toBe(0);
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('npm run token against a running service', () => {
  it('mints tokens the service accepts, lists them without secrets, and revokes them live', async () => {
    const dir = tempDir();
    const file = join(dir, 'secrets', 'tokens.json');
    const gateway = await mint(file, '--fleet', '--label', 'gateway 1');
    expect(gateway).toMatch(/^tlm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const service = start({ TELEMETRY_DATA_DIR: dir, TELEMETRY_TOKENS_FILE: file });
    const { ingestPort, httpPort } = await service.listening;
    await service.ready;
    expect(service.lines.some((l) => l.msg === 'authentication on: bearer tokens required for ingest and /api' && l.tokens === 1)).toBe(true);

    const gatewayClient = await IngestClient.connect(ingestPort, '/upstream', bearer(gateway));
    clients.push(gatewayClient);
    expect(await gatewayClient.send('0,0,0,Flexo')).toBe('OK');

    // A robot's token, minted while the service runs: picked up without a restart.
    const bender = await mint(file, '--robots', 'Bender');
    await service.waitForLog(/^tokens file reloaded: 2 tokens$/);
    const benderClient = await IngestClient.connect(ingestPort, '/upstream', bearer(bender));
    clients.push(benderClient);
    expect(await benderClient.sendEvents(['0,0,0,Bender', '0,0,1,Flexo'])).toEqual(['OK', 'ERR forbidden robot']);
    const analyst = await mint(file, '--read');
    await service.waitForLog(/^tokens file reloaded: 3 tokens$/);
    const robots = await fetch(`http://127.0.0.1:${httpPort}/api/robots`, { headers: bearer(analyst) });
    expect(((await robots.json()) as Array<{ name: string }>).map((r) => r.name)).toEqual(['Bender', 'Flexo']);

    const listed = await tokenTool(['--list', '--file', file]);
    expect(listed.code).toBe(0);
    const rows = listed.stdout.split('\n').filter((line) => line !== '').map((line) => line.split('\t'));
    expect(rows.map((row) => [row[2], row[3]])).toEqual([
      ['fleet', 'gateway 1'],
      ['robots Bender', ''],
      ['read', ''],
    ]);
    for (const token of [gateway, bender, analyst]) {
      expect(listed.stdout).not.toContain(token.slice(18));
      expect(listed.stderr).not.toContain(token.slice(18));
    }

    // Revoking the robot's token closes its live connection (1008) and refuses new ones.
    const benderId = rows[1]![0]!;
    const revoked = await tokenTool(['--revoke', benderId, '--file', file]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await service.waitForLog(/^closed ingest connections whose token was revoked or changed$/)).closed).toBe(1);
    expect(await benderClient.closed).toEqual({ code: 1008, reason: 'token revoked' });
    expect(await tryUpgrade(ingestPort, '/upstream', bearer(bender))).toMatchObject({ opened: false, status: 401 });
    // Connections of tokens still in the file are untouched.
    expect(await gatewayClient.send('1,1,1,Flexo')).toBe('OK');

    expect((await tokenTool(['--revoke', benderId, '--file', file])).code).toBe(1);
  });

  it('keeps the tokens in force when the file changes into something invalid, and says why', async () => {
    const dir = tempDir();
    const file = join(dir, 'tokens.json');
    const [fleet] = writeTokens(file, [{ type: 'fleet' }]);
    const service = start({ TELEMETRY_DATA_DIR: dir, TELEMETRY_TOKENS_FILE: file });
    const { ingestPort } = await service.listening;
    await service.ready;
    writeFileSync(file, '{"version": 1, "tokens": [{"id": "nope"}]}');
    const ignored = await service.waitForLog(/^tokens file change ignored/);
    expect(ignored.level).toBe(50);
    expect(String(ignored.msg)).toContain('tokens[0].id must be 12 lowercase hex digits');
    expect(await tryUpgrade(ingestPort, '/upstream', bearer(fleet!.token))).toEqual({ opened: true });
  });

  it('refuses bad usage with exit 2 and an unreadable file with exit 1, writing nothing', async () => {
    const dir = tempDir();
    const file = join(dir, 'tokens.json');
    for (const args of [[], ['--fleet', '--read'], ['--robots', 'a,,b'], ['--prefix', ''], ['--nope'], ['--revoke', 'xyz']]) {
      const run = await tokenTool([...args, '--file', file]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^token: /);
    }
    writeFileSync(file, 'not json');
    const run = await tokenTool(['--fleet', '--file', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('is not valid JSON');
  });

  it('writes to TELEMETRY_TOKENS_FILE, else <TELEMETRY_DATA_DIR>/tokens.json', async () => {
    const dir = tempDir();
    expect((await tokenTool(['--admin'], { TELEMETRY_DATA_DIR: dir })).code).toBe(0);
    expect(statSync(join(dir, 'tokens.json')).isFile()).toBe(true);
    expect((await tokenTool(['--admin'], { TELEMETRY_TOKENS_FILE: join(dir, 'other.json') })).code).toBe(0);
    expect(statSync(join(dir, 'other.json')).isFile()).toBe(true);
  });
});

describe('secure by default', () => {
  it('refuses a non-loopback address without tokens: exit 2 and the way out', async () => {
    const service = start({ TELEMETRY_DATA_DIR: tempDir(), TELEMETRY_HOST: '0.0.0.0' });
    expect((await service.exited).code).toBe(2);
    const fatal = service.lines.find((line) => line.level === 60);
    expect(String(fatal?.msg)).toContain('refusing to listen on 0.0.0.0 without authentication');
    expect(String(fatal?.msg)).toContain('TELEMETRY_AUTH=off');
  });

  it('starts open anywhere with TELEMETRY_AUTH=off, with a loud warning', async () => {
    const service = start({ TELEMETRY_DATA_DIR: tempDir(), TELEMETRY_HOST: '0.0.0.0', TELEMETRY_AUTH: 'off' });
    const { ingestPort } = await service.listening;
    await service.ready;
    const warning = service.lines.find((line) => line.level === 40 && /^AUTHENTICATION IS OFF/.test(String(line.msg)));
    expect(warning).toBeDefined();
    const client = await IngestClient.connect(ingestPort);
    clients.push(client);
    expect(await client.send('0,0,0,Open')).toBe('OK');
  });

  it('starts open on loopback without tokens, and says so', async () => {
    const service = start({ TELEMETRY_DATA_DIR: tempDir() });
    await service.ready;
    expect(service.lines.some((line) => line.level === 40 && /runs open on the loopback address 127\.0\.0\.1 only/.test(String(line.msg)))).toBe(true);
  });

  it('uses <data dir>/tokens.json when present, on any address', async () => {
    const dir = tempDir();
    const [fleet] = writeTokens(join(dir, 'tokens.json'), [{ type: 'fleet' }]);
    const service = start({ TELEMETRY_DATA_DIR: dir, TELEMETRY_HOST: '0.0.0.0' });
    const { ingestPort } = await service.listening;
    await service.ready;
    expect(await tryUpgrade(ingestPort)).toMatchObject({ opened: false, status: 401 });
    expect(await tryUpgrade(ingestPort, '/upstream', bearer(fleet!.token))).toEqual({ opened: true });
  });

  it.each([
    ['a missing TELEMETRY_TOKENS_FILE', (dir: string) => join(dir, 'absent.json'), 'which does not exist'],
    ['an invalid tokens file', (dir: string) => (writeFileSync(join(dir, 'bad.json'), '{"version": 7}'), join(dir, 'bad.json')), 'version must be 1, got 7'],
  ])('exits 2 on %s', async (_name, makeFile, message) => {
    const dir = tempDir();
    const service = start({ TELEMETRY_DATA_DIR: dir, TELEMETRY_TOKENS_FILE: makeFile(dir) });
    expect((await service.exited).code).toBe(2);
    expect(String(service.lines.find((line) => line.level === 60)?.msg)).toContain(message);
  });

  it('refuses the pure-JS uWebSockets.js fallback when tokens are on (it cannot check them before the upgrade)', async () => {
    const dir = tempDir();
    writeTokens(join(dir, 'tokens.json'), [{ type: 'fleet' }]);
    const service = start({ TELEMETRY_DATA_DIR: dir, UWS_USE_FALLBACK: '1', TELEMETRY_ALLOW_UWS_FALLBACK: '1' });
    expect((await service.exited).code).toBe(1);
    expect(String(service.lines.find((line) => line.level === 60)?.msg)).toContain('authentication needs the native uWebSockets.js');
  });
});
