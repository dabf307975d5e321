// The embedded log's writer thread: batches committed in order and answered in order, a thread that
// cannot work failing its batches with the reason (never answering them as committed), and a log
// nobody closed not holding its process open. Real threads, real SQLite files.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/domain/errors.js';
import { APPEND_CONFLICT, APPEND_FAILED, EXPECT_NO_STREAM } from '../../src/store/event-log.js';
import type { WriterBatch } from '../../src/store/sqlite/log-writer.js';
import { openLogDatabase } from '../../src/store/sqlite/schema.js';
import { WriterThread } from '../../src/store/sqlite/writer-thread.js';
import { SqliteEventLog } from '../../src/store/sqlite/sqlite-event-log.js';
import { makeTempDir } from '../support/temp-dir.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function tempDir(): string {
  const dir = makeTempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

/** One new stream per name, `count` events each, (x, y, t) = (i, i, i). */
function batchOf(names: string[], count: number): WriterBatch {
  const events = new Float64Array(names.length * count * 3);
  for (let i = 0; i < events.length; i++) events[i] = Math.floor(i / 3);
  return {
    ids: new Int32Array(names.length),
    names,
    expected: new Float64Array(names.length).fill(EXPECT_NO_STREAM),
    counts: new Int32Array(names.length).fill(count),
    events,
  };
}

describe('WriterThread', () => {
  it('commits batches sent back to back in order, and answers each with its rows', async () => {
    const dataDir = tempDir();
    openLogDatabase(dataDir).close(); // the schema, as SqliteEventLog creates it before the thread
    const writer = new WriterThread({ dataDir, indexEveryRows: undefined });
    cleanups.push(() => writer.close());

    const [first, second] = await Promise.all([writer.commit(batchOf(['a', 'b'], 2)), writer.commit(batchOf(['c'], 1500))]);
    expect(Array.from(first.firstRevisions)).toEqual([0, 0]);
    expect(first.created).toEqual([['a', 1], ['b', 2]]);
    expect(Array.from(first.rowPositions)).toEqual([1, 2]);
    // 1,500 events are written as two rows (at most 1,024 events each), after the first batch's.
    expect(Array.from(second.rowPositions)).toEqual([3, 4]);
    expect(second.created).toEqual([['c', 3]]);
  });

  it('indexes each stream\'s rows as one group in the commit that writes the group\'s last row, first groups staggered', async () => {
    const dataDir = tempDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 2 });
    cleanups.push(() => log.close());
    const db = openLogDatabase(dataDir, { readonly: true });
    cleanups.push(() => db.close());
    const groups = db.prepare<[], { stream_id: number; first_rev: number; positions: string }>(
      'SELECT stream_id, first_rev, positions FROM chunk_groups ORDER BY stream_id, first_rev',
    );
    const tails = db.prepare<[], number>('SELECT sum(next_rev - indexed_rev) FROM heads').pluck();
    for (let t = 0; t < 5; t++) {
      await log.appendMany({
        streams: ['a', 'b', 'c'],
        expected: new Float64Array(3).fill(t === 0 ? EXPECT_NO_STREAM : t - 1),
        counts: Int32Array.of(1, 1, 1),
        events: Float64Array.of(t, t, t, t, t, t, t, t, t),
      });
      // Commit t writes rows 3t+1..3t+3 to a, b, c (ids 1-3). Groups are two rows, but a stream's
      // first is longer by id mod 2, so a and c fill theirs in other commits than b.
      expect(tails.get()).toBe([3, 4, 1, 2, 1][t]);
    }
    const grouped = groups.all().map((g) => `${g.stream_id}@${g.first_rev}:${g.positions}`);
    expect(grouped).toEqual(['1@0:[1,4,7]', '1@3:[10,13]', '2@0:[2,5]', '2@2:[8,11]', '3@0:[3,6,9]', '3@3:[12,15]']);
    expect((await log.readStream('b', 0n, 10))?.events).toEqual(Float64Array.of(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4));
  });

  it('indexes a stream another writer also wrote to by walking its chain, every row once', async () => {
    const dataDir = tempDir();
    const one = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 3 });
    const two = new SqliteEventLog({ dataDir, pollIntervalMs: 0, indexEveryRows: 3 });
    cleanups.push(() => one.close(), () => two.close());
    // The writers take turns on one stream: neither remembers every row of the tail it indexes.
    for (let t = 0; t < 10; t++) await (t % 3 === 0 ? two : one).append('a', Float64Array.of(t, t, t), t === 0 ? 'no_stream' : BigInt(t - 1));
    const db = openLogDatabase(dataDir, { readonly: true });
    cleanups.push(() => db.close());
    const rows = db.prepare<[], number>('SELECT j.value FROM chunk_groups g, json_each(g.positions) j ORDER BY g.first_rev, j.key').pluck().all();
    const indexed = db.prepare<[], number>('SELECT indexed_rev FROM heads').pluck().get()!;
    expect(rows).toEqual(Array.from({ length: indexed }, (_, i) => i + 1));
    expect(indexed).toBeGreaterThanOrEqual(6);
    const events = Array.from({ length: 10 }, (_, t) => [t, t, t]).flat();
    expect(Array.from((await one.readStream('a', 0n, 20))!.events)).toEqual(events);
    expect(Array.from((await two.readStream('a', 3n, 4))!.events)).toEqual(events.slice(9, 21));
  });

  it('fails the batch with the reason when the thread cannot open the log, and tries a new thread for the next', async () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    const writer = new WriterThread({ dataDir: join(file, 'data'), indexEveryRows: undefined });
    cleanups.push(() => writer.close());
    await expect(writer.commit(batchOf(['a'], 1))).rejects.toThrow(/ENOTDIR|not a directory/);
    await expect(writer.commit(batchOf(['a'], 1))).rejects.toThrow(/ENOTDIR|not a directory/);
  });

  it('packs single appends and appendMany batches made in one turn into one group commit, answering each', async () => {
    const log = new SqliteEventLog({ dataDir: tempDir(), pollIntervalMs: 0 });
    cleanups.push(() => log.close());
    const commits: number[] = [];
    log.observeCommits((appends) => commits.push(appends));
    const single = log.append('a', new Float64Array([1, 1, 1]), 'no_stream');
    const many = log.appendMany({
      streams: ['b', 'a', 'c'],
      expected: Float64Array.of(EXPECT_NO_STREAM, EXPECT_NO_STREAM, EXPECT_NO_STREAM),
      counts: Int32Array.of(2, 1, 1),
      events: Float64Array.of(2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5),
    });
    expect((await single).nextExpectedRevision).toBe(0n);
    // 'a' was created by the single append committed just before it in the same transaction.
    expect([...(await many).firstRevisions]).toEqual([0, APPEND_CONFLICT, 0]);
    expect(commits).toEqual([4]);
    expect((await log.head('b'))?.revision).toBe(1n);
  });

  it('answers appendMany on a closed log with every append failed, the reason kept', async () => {
    const log = new SqliteEventLog({ dataDir: tempDir(), pollIntervalMs: 0 });
    await log.close();
    const result = await log.appendMany({ streams: ['a', 'b'], expected: Float64Array.of(EXPECT_NO_STREAM, 0), counts: Int32Array.of(1, 1), events: new Float64Array(6) });
    expect([...result.firstRevisions]).toEqual([APPEND_FAILED, APPEND_FAILED]);
    expect(result.failures.size).toBe(2);
    expect(hasCode(result.failures.get(1), 'STORE_UNAVAILABLE')).toBe(true);
    expect(result.failures.get(0)?.message).toMatch(/closed/);
  });

  it('answers every append made before close() and then ends the thread', async () => {
    const dataDir = tempDir();
    const log = new SqliteEventLog({ dataDir, pollIntervalMs: 0 });
    const appends = Array.from({ length: 50 }, (_, i) => log.append(`r${i}`, new Float64Array([i, i, i]), 'no_stream'));
    await log.close();
    expect((await Promise.all(appends)).map((r) => r.nextExpectedRevision)).toEqual(new Array(50).fill(0n));
    const reopened = new SqliteEventLog({ dataDir, pollIntervalMs: 0, readonly: true });
    cleanups.push(() => reopened.close());
    expect(await reopened.listStreams()).toHaveLength(50);
  });

  it('does not keep its process alive once its appends are answered, even if the log is never closed', async () => {
    const dataDir = tempDir();
    const script = `
      import { SqliteEventLog } from './src/store/sqlite/sqlite-event-log.ts';
      const log = new SqliteEventLog({ dataDir: ${JSON.stringify(dataDir)}, pollIntervalMs: 0 });
      const result = await log.append('robot', new Float64Array([1, 2, 3]), 'no_stream');
      console.log('appended', result.nextExpectedRevision);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    expect(output).toContain('appended 0');
    expect(code).toBe(0);
  });
});
