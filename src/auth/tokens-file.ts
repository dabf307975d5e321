// The tokens file: JSON `{ "version": 1, "tokens": [{ id, sha256, scope, label?, created }] }`.
// Reading validates everything (one message naming the file, the entry and the rule); writing is
// atomic (temp file with mode 0600, fsync, rename, fsync of the directory) so the watching service
// never reads half a file and a crash leaves the old file or the new one.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { parseScope, type Scope } from './scope.js';
import { isTokenId } from './token.js';

export const TOKENS_FILE_VERSION = 1;
export const TOKENS_FILE_NAME = 'tokens.json';

export interface TokenEntry {
  readonly id: string;
  /** Hex SHA-256 of the whole token. */
  readonly sha256: string;
  readonly scope: Scope;
  readonly label?: string;
  /** ISO 8601. */
  readonly created: string;
}

export interface TokensFile {
  readonly version: typeof TOKENS_FILE_VERSION;
  readonly tokens: readonly TokenEntry[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_LABEL_LENGTH = 200;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A tokens file that cannot be used; `message` names the file and the problem. */
export class TokensFileError extends Error {
  override readonly name = 'TokensFileError';
}

export function readTokensFile(path: string): TokensFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokensFileError(`tokens file ${path} cannot be read (${code ?? String(error)})`);
  }
  return parseTokensFile(text, path);
}

export function parseTokensFile(text: string, path: string): TokensFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokensFileError(`tokens file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return validate(json);
  } catch (error) {
    throw new TokensFileError(`tokens file ${path}: ${(error as Error).message}`);
  }
}

function validate(json: unknown): TokensFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('must be a JSON object {"version": 1, "tokens": [...]}');
  const record = json as Record<string, unknown>;
  if (record.version !== TOKENS_FILE_VERSION) throw new Error(`version must be ${TOKENS_FILE_VERSION}, got ${JSON.stringify(record.version)}`);
  if (!Array.isArray(record.tokens)) throw new Error('tokens must be an array');
  const seen = new Set<string>();
  const tokens = record.tokens.map((entry: unknown, i: number) => {
    const where = `tokens[${i}]`;
    const token = validateEntry(entry, where);
    if (seen.has(token.id)) throw new Error(`${where}.id ${token.id} appears twice`);
    seen.add(token.id);
    return token;
  });
  return { version: TOKENS_FILE_VERSION, tokens };
}

function validateEntry(entry: unknown, where: string): TokenEntry {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error(`${where} must be an object`);
  const { id, sha256, scope, label, created, ...rest } = entry as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`${where} has unknown key ${JSON.stringify(unknown[0])}`);
  if (typeof id !== 'string' || !isTokenId(id)) throw new Error(`${where}.id must be 12 lowercase hex digits, got ${JSON.stringify(id)}`);
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) throw new Error(`${where}.sha256 must be 64 lowercase hex digits`);
  if (label !== undefined && (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH || CONTROL.test(label))) {
    throw new Error(`${where}.label must be a string of at most ${MAX_LABEL_LENGTH} characters without control characters`);
  }
  if (typeof created !== 'string' || Number.isNaN(Date.parse(created))) throw new Error(`${where}.created must be an ISO 8601 date`);
  const parsed = parseScope(scope, `${where}.scope`);
  return label === undefined ? { id, sha256, scope: parsed, created } : { id, sha256, scope: parsed, label: label as string, created };
}

/** Replaces (or creates) `path` atomically with mode 0600, creating its directory if needed. */
export function writeTokensFile(path: string, file: TokensFile): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  let written = false;
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(temp, { force: true });
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  // The rename is durable only once the directory entry is.
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
