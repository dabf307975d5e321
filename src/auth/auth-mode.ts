// Secure by default: which tokens file applies, or whether the service may run without one.
//
// - TELEMETRY_AUTH=off: no authentication anywhere, whatever the address (logged loudly).
// - TELEMETRY_TOKENS_FILE set: that file, which must exist and be valid.
// - else <TELEMETRY_DATA_DIR>/tokens.json if it exists.
// - else open, but only on a loopback address; any other address is refused.

import { existsSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import { createError } from '../domain/errors.js';
import { TOKENS_FILE_NAME } from './tokens-file.js';

export interface AuthSettings {
  readonly host: string;
  readonly dataDir: string;
  readonly tokensFile: string | undefined;
  readonly auth: 'on' | 'off';
}

export type AuthMode =
  | { readonly kind: 'tokens'; readonly file: string; readonly from: 'TELEMETRY_TOKENS_FILE' | 'data dir' }
  | { readonly kind: 'open'; readonly why: 'loopback' | 'auth off' };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z or in brackets) and `localhost`. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  if (family === 4) return LOOPBACK.check(bare, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
    return mapped !== null ? LOOPBACK.check(mapped[1]!, 'ipv4') : LOOPBACK.check(bare, 'ipv6');
  }
  return false;
}

/** Throws TELEMETRY_CONFIG_INVALID (exit 2) when the service must not start as configured. */
export function decideAuthMode(settings: AuthSettings, exists: (path: string) => boolean = existsSync): AuthMode {
  if (settings.auth === 'off') return { kind: 'open', why: 'auth off' };
  if (settings.tokensFile !== undefined) {
    if (!exists(settings.tokensFile)) {
      throw createError('CONFIG_INVALID', `TELEMETRY_TOKENS_FILE names ${settings.tokensFile}, which does not exist; create it with \`npm run token\``);
    }
    return { kind: 'tokens', file: settings.tokensFile, from: 'TELEMETRY_TOKENS_FILE' };
  }
  const inDataDir = join(settings.dataDir, TOKENS_FILE_NAME);
  if (exists(inDataDir)) return { kind: 'tokens', file: inDataDir, from: 'data dir' };
  if (isLoopback(settings.host)) return { kind: 'open', why: 'loopback' };
  throw createError(
    'CONFIG_INVALID',
    `refusing to listen on ${settings.host} without authentication: no tokens file (set TELEMETRY_TOKENS_FILE or create ` +
      `${inDataDir} with \`npm run token\`), and ${settings.host} is not a loopback address. ` +
      'Set TELEMETRY_AUTH=off to run open anyway.',
  );
}
