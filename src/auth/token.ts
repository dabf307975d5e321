// The bearer token format: `tlm_<id>_<secret>`. The id is public (it names the token in the tokens
// file, the logs and `npm run token -- --list`); the secret is 256 random bits. Only the SHA-256 of
// the whole token is ever stored, so the tokens file is no key to anything.

import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'tlm_';
/** 6 random bytes as hex: hex has no `_`, so the first `_` after the id ends it. */
export const ID_HEX_LENGTH = 12;
export const SECRET_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
export const SECRET_LENGTH = 43;

const TOKEN_PATTERN = new RegExp(`^${TOKEN_PREFIX}([0-9a-f]{${ID_HEX_LENGTH}})_([A-Za-z0-9_-]{${SECRET_LENGTH}})$`);
const ID_PATTERN = new RegExp(`^[0-9a-f]{${ID_HEX_LENGTH}}$`);

export interface MintedToken {
  /** The bearer token: shown once, never stored. */
  readonly token: string;
  readonly id: string;
  /** Hex SHA-256 of `token`: what the tokens file keeps. */
  readonly sha256: string;
}

export function mintToken(): MintedToken {
  const id = randomBytes(ID_HEX_LENGTH / 2).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const token = `${TOKEN_PREFIX}${id}_${secret}`;
  return { token, id, sha256: tokenDigest(token).toString('hex') };
}

/** The id of a well-formed token, or null: malformed tokens are refused before any lookup. */
export function tokenId(token: string): string | null {
  const match = TOKEN_PATTERN.exec(token);
  return match === null ? null : match[1]!;
}

export function isTokenId(text: string): boolean {
  return ID_PATTERN.test(text);
}

/** SHA-256 of the whole token (id included, so a secret cannot be replayed under another id). */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
