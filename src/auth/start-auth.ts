// Authentication at service start: pick the mode (auth-mode.ts), load the tokens, and say at start
// which one applies — loudly when the service runs open.

import type { Logger } from 'pino';
import { createError } from '../domain/errors.js';
import { decideAuthMode, type AuthSettings } from './auth-mode.js';
import { Authenticator } from './authenticator.js';

/**
 * The authenticator, or null when the service runs open. Throws TELEMETRY_CONFIG_INVALID when it
 * must not start (bad or missing tokens file, non-loopback address without tokens), and
 * TELEMETRY_UWS_FALLBACK when tokens are on but uWebSockets.js runs on its pure-JS emulation.
 */
export function startAuth(settings: AuthSettings, nativeUws: boolean, logger: Logger): Authenticator | null {
  const mode = decideAuthMode(settings);
  if (mode.kind === 'open') {
    if (mode.why === 'auth off') {
      logger.warn(
        { host: settings.host, auth: 'off' },
        `AUTHENTICATION IS OFF (TELEMETRY_AUTH=off): anyone who can reach ${settings.host} can write any robot's telemetry, read the fleet and trigger rebuilds`,
      );
    } else {
      logger.warn(
        { host: settings.host, auth: 'open' },
        `authentication is off: no tokens file, so the service runs open on the loopback address ${settings.host} only; ` +
          'create tokens with `npm run token` to turn it on',
      );
    }
    return null;
  }
  if (!nativeUws) {
    // The emulation throws "not implemented" on a custom upgrade handler (and routes on the raw URL,
    // so `?token=` would never match /upstream): it cannot check a token before the upgrade.
    throw createError(
      'UWS_FALLBACK',
      'authentication needs the native uWebSockets.js: its pure-JS fallback cannot check tokens before the WebSocket upgrade. ' +
        'Run on a platform with the native binary, or (on a trusted network only) set TELEMETRY_AUTH=off.',
    );
  }
  const auth = Authenticator.start(mode.file, logger);
  logger.info({ file: mode.file, from: mode.from, tokens: auth.current.size }, 'authentication on: bearer tokens required for ingest and /api');
  return auth;
}
