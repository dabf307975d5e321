// Tokens for tests: minted and written the way `npm run token` does, and a raw upgrade attempt that
// reports what the server answered instead of the WebSocket (status, headers, JSON body).

import WebSocket from 'ws';
import type { Scope } from '../../src/auth/scope.js';
import { mintToken } from '../../src/auth/token.js';
import { TOKENS_FILE_VERSION, writeTokensFile, type TokenEntry } from '../../src/auth/tokens-file.js';

/** Writes a tokens file holding one token per scope; returns the tokens, in order, and their entries. */
export function writeTokens(file: string, scopes: readonly Scope[]): Array<{ token: string; entry: TokenEntry }> {
  const minted = scopes.map((scope) => {
    const { token, id, sha256 } = mintToken();
    return { token, entry: { id, sha256, scope, created: new Date().toISOString() } satisfies TokenEntry };
  });
  writeTokensFile(file, { version: TOKENS_FILE_VERSION, tokens: minted.map((m) => m.entry) });
  return minted;
}

export type UpgradeOutcome =
  | { readonly opened: true }
  | { readonly opened: false; readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly body: any };

/** Tries to open ws://127.0.0.1:port + path; closes it at once if it opens. */
export function tryUpgrade(port: number, path = '/upstream', headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    ws.once('open', () => {
      ws.once('close', () => resolve({ opened: true }));
      ws.close();
    });
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: the assertion on the body will show it
        }
        resolve({ opened: false, status: response.statusCode ?? 0, headers: response.headers, body });
        ws.terminate();
      });
    });
    ws.once('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
