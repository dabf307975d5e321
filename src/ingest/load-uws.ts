// Loads uWebSockets.js and refuses its silent pure-JS fallback.
//
// The npm mirror we depend on (@trufflesuite/uws-js-unofficial) falls back to an emulation on top
// of `ws` when its native binary does not load for this platform or Node ABI — with only a console
// warning, and without the custom upgrade our token check runs in. We detect the emulation (its App
// is ordinary JS, the native one is a C++ binding) and stop, unless the operator allows it
// explicitly.

import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { createError } from '../domain/errors.js';

export type Uws = typeof import('uWebSockets.js');

const require = createRequire(import.meta.url);

export function isNativeUws(uws: Uws): boolean {
  return Function.prototype.toString.call(uws.App).includes('[native code]');
}

export function loadUws(allowFallback: boolean, logger: Logger): Uws {
  const uws = require('uWebSockets.js') as Uws;
  if (isNativeUws(uws)) return uws;
  const detail =
    `uWebSockets.js could not load its native binary for ${process.platform}-${process.arch} ` +
    `(Node ABI ${process.versions.modules}) and fell back to a slow pure-JS emulation`;
  if (!allowFallback) {
    throw createError('UWS_FALLBACK', `${detail}. Refusing to start; set TELEMETRY_ALLOW_UWS_FALLBACK=1 to run on the emulation anyway.`);
  }
  logger.warn(`${detail}; running on it because TELEMETRY_ALLOW_UWS_FALLBACK=1. Expect much lower ingest throughput.`);
  return uws;
}
