// The running service's view of the tokens file: changes are applied once the file has settled, so
// a writer that truncates before it writes (an editor, `echo > tokens.json`) is never read half-way.
// Real files, real fs.watchFile polling (at a short interval), a real pino logger.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.js';
import { writeTokens } from '../support/auth-tokens.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir } from '../support/temp-dir.js';

const POLL_MS = 20;
const SETTLE_MS = 1_000; // far longer than the two-step write takes, even on a loaded machine

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A followed tokens file, once the poller has its first look at it (a change before that is its baseline). */
async function following(): Promise<{ file: string; auth: Authenticator; logs: Array<{ level: number; msg: string }>; tokens: string[] }> {
  const dir = makeTempDir();
  cleanups.push(dir.remove);
  const file = join(dir.path, 'tokens.json');
  const tokens = writeTokens(file, [{ type: 'fleet' }]).map((t) => t.token);
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const auth = Authenticator.start(file, logger);
  auth.follow({ pollMs: POLL_MS, settleMs: SETTLE_MS });
  cleanups.push(() => auth.close());
  await sleep(POLL_MS * 10);
  return { file, auth, logs, tokens };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Authenticator following the tokens file', () => {
  it('reads a file rewritten in two steps only once it is whole', async () => {
    const { file, auth, logs, tokens } = await following();
    const other = makeTempDir();
    cleanups.push(other.remove);
    const next = writeTokens(join(other.path, 'tokens.json'), [{ type: 'read' }]);
    const whole = readFileSync(join(other.path, 'tokens.json'), 'utf8');

    writeFileSync(file, whole.slice(0, 10)); // a partial write the poller sees for several intervals
    await sleep(POLL_MS * 4);
    writeFileSync(file, whole);

    await eventually(async () => logs.some((l) => /^tokens file reloaded/.test(l.msg)), 5_000, 'the reload');
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
    expect(auth.current.authenticate(next[0]!.token)?.scope).toEqual({ type: 'read' });
    expect(auth.current.authenticate(tokens[0]!)).toBeNull();
  });

  it('keeps the tokens in force and says why when the settled file does not validate', async () => {
    const { file, auth, logs, tokens } = await following();
    writeFileSync(file, '{"version": 1, "tokens": [{"id": "nope"}]}');

    await eventually(async () => logs.some((l) => /^tokens file change ignored/.test(l.msg)), 5_000, 'the refusal');
    const errors = logs.filter((l) => l.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('tokens[0].id must be 12 lowercase hex digits');
    expect(auth.current.authenticate(tokens[0]!)?.scope).toEqual({ type: 'fleet' });
  });

  it('stops following on close(): a change after it is not applied', async () => {
    const { file, auth, logs, tokens } = await following();
    writeFileSync(file, '{}');
    await sleep(POLL_MS * 4); // seen by the poller, still settling
    auth.close();
    await sleep(SETTLE_MS * 2);
    expect(logs.filter((l) => /^tokens file/.test(l.msg))).toEqual([]);
    expect(auth.current.authenticate(tokens[0]!)?.scope).toEqual({ type: 'fleet' });
  });
});
