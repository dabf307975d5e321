// A competing writer for the two-process test: appends `count` events one at a time to `stream`,
// each expecting the head it just read, and retries on conflict after reloading the head.
//
// Usage: node --import tsx test/support/append-worker.ts <dataDir> <stream> <count> <tag> [--wait-for-go]
// Event k of this writer is (x = tag, y = k, timestamp = the revision it landed on).
// Prints one JSON line last: { appended, conflicts }. With --wait-for-go it first opens the log,
// prints "ready" and waits for a line on stdin, so several writers can be released together
// (process start-up time would otherwise let one finish before the other begins).

import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { hasCode } from '../../src/domain/errors.js';
import type { ExpectedRevision } from '../../src/store/event-log.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';

async function main(): Promise<void> {
  const [dataDir, stream, countArg, tagArg, flag] = process.argv.slice(2);
  const count = Number(countArg);
  const tag = Number(tagArg);
  if (!dataDir || !stream || !Number.isInteger(count) || count < 0 || !Number.isFinite(tag)) {
    throw new Error('usage: append-worker <dataDir> <stream> <count> <tag>');
  }

  const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
  let appended = 0;
  let conflicts = 0;
  try {
    if (flag === '--wait-for-go') {
      const lines = createInterface({ input: process.stdin });
      process.stdout.write('ready\n');
      await once(lines, 'line');
      lines.close();
    }
    while (appended < count) {
      const head = await log.head(stream);
      const expected: ExpectedRevision = head === null ? 'no_stream' : head.revision;
      const revision = head === null ? 0 : Number(head.revision) + 1;
      try {
        await log.append(stream, Float64Array.of(tag, appended, revision), expected);
        appended++;
      } catch (error) {
        if (!hasCode(error, 'REVISION_CONFLICT')) throw error;
        conflicts++;
      }
    }
  } finally {
    await log.close();
  }
  process.stdout.write(`${JSON.stringify({ appended, conflicts })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
