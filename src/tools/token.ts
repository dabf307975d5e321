// `npm run token`: mint, list and revoke bearer tokens in the tokens file.
//
//   npm run token -- --robots Bender,Calculon [--label "…"]   (or --prefix P, --fleet, --read, --admin)
//   npm run token -- --list
//   npm run token -- --revoke <id>
//   any of them with --file <path>; default TELEMETRY_TOKENS_FILE, else <TELEMETRY_DATA_DIR or ./data>/tokens.json
//
// A minted token goes to stdout once, alone on its line (`TOKEN=$(npm run --silent token -- --fleet)`);
// the file keeps only its SHA-256. Everything else goes to stderr. A running service picks the
// change up by itself. Exit codes: 0 done, 1 failed (file unusable, unknown id), 2 usage.

import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describeScope, parseScope, prefixError, type Scope } from '../auth/scope.js';
import { isTokenId, mintToken } from '../auth/token.js';
import { readTokensFile, TOKENS_FILE_NAME, TOKENS_FILE_VERSION, writeTokensFile, type TokenEntry, type TokensFile } from '../auth/tokens-file.js';
import { robotNameError } from '../domain/wire-format.js';
import { parseArgs, UsageError } from './args.js';

const USAGE = `usage:
  npm run token -- --robots NAME[,NAME…] [--label TEXT] [--file PATH]   a robot's firmware: writes only these robots
  npm run token -- --prefix PREFIX       [--label TEXT] [--file PATH]   writes robots whose name starts with PREFIX
  npm run token -- --fleet               [--label TEXT] [--file PATH]   a gateway: writes any robot
  npm run token -- --read                [--label TEXT] [--file PATH]   an analyst: REST reads
  npm run token -- --admin               [--label TEXT] [--file PATH]   an operator: REST reads and /api/admin/*
  npm run token -- --list                               [--file PATH]
  npm run token -- --revoke ID                          [--file PATH]
The file defaults to TELEMETRY_TOKENS_FILE, else <TELEMETRY_DATA_DIR or ./data>/${TOKENS_FILE_NAME}.`;

type Command =
  | { readonly kind: 'mint'; readonly scope: Scope; readonly label: string | undefined; readonly file: string }
  | { readonly kind: 'list'; readonly file: string }
  | { readonly kind: 'revoke'; readonly id: string; readonly file: string };

const ACTIONS = ['robots', 'prefix', 'fleet', 'read', 'admin', 'list', 'revoke'] as const;

function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  const args = parseArgs(argv, { values: ['robots', 'prefix', 'label', 'file', 'revoke'], switches: ['fleet', 'read', 'admin', 'list'] });
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
  const file = resolve(args.values.get('file') ?? env.TELEMETRY_TOKENS_FILE ?? join(env.TELEMETRY_DATA_DIR ?? './data', TOKENS_FILE_NAME));
  const actions = ACTIONS.filter((name) => args.values.has(name) || args.switches.has(name)).map((name) => `--${name}`);
  if (actions.length !== 1) throw new UsageError(actions.length === 0 ? 'say what to do' : `choose one of ${actions.join(', ')}`);
  const action = actions[0]!;
  const label = args.values.get('label');
  if (label !== undefined && (action === '--list' || action === '--revoke')) throw new UsageError(`--label goes with minting, not ${action}`);
  if (action === '--list') return { kind: 'list', file };
  if (action === '--revoke') {
    const id = args.values.get('revoke')!;
    if (!isTokenId(id)) throw new UsageError(`--revoke needs a token id (12 hex digits, as --list shows), got ${JSON.stringify(id)}`);
    return { kind: 'revoke', id, file };
  }
  return { kind: 'mint', scope: scopeOf(action, args.values.get(action.slice(2)) ?? ''), label, file };
}

function scopeOf(action: string, value: string): Scope {
  if (action === '--robots') {
    const robots = value.split(',');
    for (const robot of robots) {
      const problem = robotNameError(robot);
      if (problem !== null) throw new UsageError(`--robots ${JSON.stringify(robot)}: ${problem}`);
    }
    return { type: 'robots', robots: [...new Set(robots)] };
  }
  if (action === '--prefix') {
    const problem = prefixError(value);
    if (problem !== null) throw new UsageError(`--prefix: ${problem}`);
    return { type: 'prefix', prefix: value };
  }
  return { type: action.slice(2) as 'fleet' | 'read' | 'admin' };
}

function load(file: string): TokensFile {
  return existsSync(file) ? readTokensFile(file) : { version: TOKENS_FILE_VERSION, tokens: [] };
}

/** One writer at a time: two concurrent runs would otherwise each drop the other's change. */
function withLock<T>(file: string, change: () => T): T {
  const lock = `${file}.lock`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`another \`npm run token\` is changing ${file} (remove ${lock} if none is running)`);
    }
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // No directory, so no tokens file either: the change finds nothing to change and says so.
    return change();
  }
  try {
    return change();
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

function run(command: Command, out: (line: string) => void, err: (line: string) => void): void {
  if (command.kind === 'list') {
    if (!existsSync(command.file)) throw new Error(`no tokens file at ${command.file}`);
    const { tokens } = readTokensFile(command.file);
    err(`${tokens.length} token(s) in ${command.file}`);
    for (const t of tokens) out([t.id, t.created, describeScope(t.scope), t.label ?? ''].join('\t'));
    return;
  }
  if (command.kind === 'revoke') {
    withLock(command.file, () => {
      if (!existsSync(command.file)) throw new Error(`no tokens file at ${command.file}`);
      const current = readTokensFile(command.file);
      const tokens = current.tokens.filter((t) => t.id !== command.id);
      if (tokens.length === current.tokens.length) throw new Error(`no token with id ${command.id} in ${command.file}`);
      writeTokensFile(command.file, { version: TOKENS_FILE_VERSION, tokens });
    });
    err(`revoked token ${command.id} in ${command.file}; a running service refuses it from its next check of the file and closes its connections`);
    return;
  }
  const minted = mintToken();
  const entry: TokenEntry = {
    id: minted.id,
    sha256: minted.sha256,
    // Validated the same way the service will read it back.
    scope: parseScope(command.scope, 'scope'),
    ...(command.label === undefined ? {} : { label: command.label }),
    created: new Date().toISOString(),
  };
  mkdirSync(dirname(command.file), { recursive: true });
  withLock(command.file, () => {
    const current = load(command.file);
    writeTokensFile(command.file, { version: TOKENS_FILE_VERSION, tokens: [...current.tokens, entry] });
  });
  out(minted.token);
  err(`minted token ${minted.id} (${describeScope(entry.scope)}) into ${command.file}. It is shown only this once: store it now; the file keeps only its hash.`);
}

function main(): void {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`token: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  try {
    run(
      command,
      (line) => process.stdout.write(`${line}\n`),
      (line) => process.stderr.write(`token: ${line}\n`),
    );
  } catch (error) {
    process.stderr.write(`token: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

main();
