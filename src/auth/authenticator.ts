// The tokens in force for a running service: loaded from the tokens file at start (a bad file stops
// the start), then kept in step with it. The file is polled with fs.watchFile rather than
// fs.watch: the token tool replaces it by rename (a new inode, which an inotify watch on the old
// file would miss), and watching its directory instead would wake us on every SQLite WAL write when
// the file sits in the data dir. A changed file that does not validate is logged and ignored: the
// previous tokens stay in force.

import { statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from 'pino';
import { createError } from '../domain/errors.js';
import { checkIngest, checkRest, type IngestDecision, type RestDecision, type RestNeed } from './access.js';
import { TokenSet } from './token-set.js';
import { readTokensFile, type TokensFile } from './tokens-file.js';

/** How often the tokens file is stat()ed for changes. */
export const TOKENS_POLL_MS = 500;
/** How long a changed tokens file must stay unchanged before it is read. */
export const TOKENS_SETTLE_MS = 200;

export interface FollowOptions {
  pollMs?: number;
  settleMs?: number;
}

export type ReloadListener = (tokens: TokenSet) => void;

export class Authenticator {
  private tokens: TokenSet;
  private ids: Set<string>;
  private readonly listeners = new Set<ReloadListener>();
  private settleMs = TOKENS_SETTLE_MS;
  private settling: NodeJS.Timeout | undefined;
  private readonly onStat = (current: Stats, previous: Stats): void => {
    if (sameFile(current, previous)) return;
    this.settleThenReload(current);
  };

  private constructor(
    readonly file: string,
    initial: TokensFile,
    private readonly logger: Logger,
  ) {
    this.tokens = TokenSet.of(initial);
    this.ids = new Set(initial.tokens.map((t) => t.id));
  }

  /** Loads `file` (see follow()); throws TELEMETRY_CONFIG_INVALID when it cannot be used. */
  static start(file: string, logger: Logger): Authenticator {
    let initial: TokensFile;
    try {
      initial = readTokensFile(file);
    } catch (error) {
      throw createError('CONFIG_INVALID', (error as Error).message);
    }
    warnIfExposed(file, logger);
    if (initial.tokens.length === 0) logger.warn({ file }, 'the tokens file holds no tokens: every connection and API request will be refused');
    return new Authenticator(file, initial, logger);
  }

  /** Starts applying changes of the file; close() stops. */
  follow({ pollMs = TOKENS_POLL_MS, settleMs = TOKENS_SETTLE_MS }: FollowOptions = {}): void {
    this.settleMs = settleMs;
    watchFile(this.file, { interval: pollMs, persistent: false }, this.onStat);
  }

  get current(): TokenSet {
    return this.tokens;
  }

  checkIngest(presented: string | null): IngestDecision {
    return checkIngest(this.tokens, presented);
  }

  checkRest(presented: string | null, need: RestNeed): RestDecision {
    return checkRest(this.tokens, presented, need);
  }

  /** Called after each successful reload, with the new tokens. */
  onReload(listener: ReloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the file; keeps the current tokens (and logs why) when it does not validate. */
  reload(): boolean {
    let file: TokensFile;
    try {
      file = readTokensFile(this.file);
    } catch (error) {
      this.logger.error({ file: this.file, err: { message: (error as Error).message } }, `tokens file change ignored, previous tokens stay in force: ${(error as Error).message}`);
      return false;
    }
    const ids = new Set(file.tokens.map((t) => t.id));
    const added = [...ids].filter((id) => !this.ids.has(id));
    const removed = [...this.ids].filter((id) => !ids.has(id));
    this.tokens = TokenSet.of(file);
    this.ids = ids;
    this.logger.info({ file: this.file, added, removed }, `tokens file reloaded: ${ids.size} tokens`);
    for (const listener of this.listeners) listener(this.tokens);
    return true;
  }

  close(): void {
    unwatchFile(this.file, this.onStat);
    clearTimeout(this.settling);
    this.listeners.clear();
  }

  /** Reloads once the file still looks as `seen` after settleMs; a later change restarts the wait. */
  private settleThenReload(seen: Stats): void {
    clearTimeout(this.settling);
    this.settling = setTimeout(() => {
      this.settling = undefined;
      let now: Stats;
      try {
        now = statSync(this.file);
      } catch {
        this.reload(); // gone: reload() says why and keeps the tokens in force
        return;
      }
      if (sameFile(now, seen)) this.reload();
      else this.settleThenReload(now);
    }, this.settleMs);
    this.settling.unref();
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.size === b.size;
}

function warnIfExposed(file: string, logger: Logger): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    logger.warn({ file, mode: mode.toString(8) }, 'the tokens file is readable by other users; it holds only hashes, but `chmod 600` it');
  }
}
