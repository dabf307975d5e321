// The tokens in force, ready for checks: looked up by their public id, then the stored digest is
// compared with the presented token's in constant time (crypto.timingSafeEqual on two 32-byte
// digests: no early exit on the first differing byte). An unknown id still costs a hash and a
// compare, so the answer takes the same work whether or not the id exists.

import { timingSafeEqual } from 'node:crypto';
import type { Scope } from './scope.js';
import { tokenDigest, tokenId } from './token.js';
import type { TokenEntry, TokensFile } from './tokens-file.js';

export interface Grant {
  readonly id: string;
  readonly scope: Scope;
  readonly label: string | undefined;
  /** Changes whenever the entry's digest or scope does: a live connection keeps it to spot edits. */
  readonly fingerprint: string;
}

interface Held {
  readonly digest: Buffer;
  readonly grant: Grant;
}

const NO_DIGEST = Buffer.alloc(32);

export class TokenSet {
  private readonly byId = new Map<string, Held>();

  constructor(entries: readonly TokenEntry[]) {
    for (const entry of entries) {
      const fingerprint = `${entry.sha256} ${JSON.stringify(entry.scope)}`;
      this.byId.set(entry.id, {
        digest: Buffer.from(entry.sha256, 'hex'),
        grant: { id: entry.id, scope: entry.scope, label: entry.label, fingerprint },
      });
    }
  }

  static of(file: TokensFile): TokenSet {
    return new TokenSet(file.tokens);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The grant of a valid token in this set, or null (malformed, unknown id, or wrong secret). */
  authenticate(token: string): Grant | null {
    const id = tokenId(token);
    if (id === null) return null;
    const held = this.byId.get(id);
    const presented = tokenDigest(token);
    const matches = timingSafeEqual(presented, held?.digest ?? NO_DIGEST);
    return held !== undefined && matches ? held.grant : null;
  }

  /** True while the token behind `grant` is in this set unchanged. */
  stillGrants(grant: Grant): boolean {
    return this.byId.get(grant.id)?.grant.fingerprint === grant.fingerprint;
  }
}
