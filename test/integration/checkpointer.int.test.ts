// When the checkpointer saves (after N new events at first, then after as many new events as the
// last checkpoint held, so a long history is not rewritten every N events) and what a save holds
// while ingest goes on. Real projections, a real data dir, and the real save thread.

import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../src/projections/checkpoint/codec.js';
import { loadCheckpointBytes } from '../../src/projections/checkpoint/checkpoint-file.js';
import { Checkpointer } from '../../src/projections/checkpointer.js';
import { Projections } from '../../src/projections/projections.js';
import { makeTempDir } from '../support/temp-dir.js';

const META = { projectionVersion: 1, logIdentity: 'sqlite:checkpointer-test' };
let dir: ReturnType<typeof makeTempDir>;
let projections: Projections;
let checkpointer: Checkpointer;
let position = 0n;
let t = 0;

beforeEach(() => {
  dir = makeTempDir();
  projections = new Projections();
  checkpointer = new Checkpointer({ dataDir: dir.path, everyEvents: 100, everySeconds: 3600, ...META }, () => projections, pino({ level: 'silent' }));
});

afterEach(async () => {
  await checkpointer.stop();
  dir.remove();
});

/** Applies `count` more events to one robot, tells the checkpointer, and waits for any save it started. */
async function advance(count: number): Promise<void> {
  const events = new Float64Array(count * 3);
  for (let i = 0; i < count; i++) events.set([t, -t, t++], i * 3);
  projections.apply([{ position: ++position, stream: 'Bender', firstRevision: BigInt(t - count), events }]);
  checkpointer.advanced();
  await checkpointer.settled();
}

it('saves after N events, then only once the new events match what the last checkpoint held', async () => {
  const savedAt: number[] = [];
  const track = () => {
    const last = checkpointer.lastSaved?.events;
    if (last !== undefined && last !== savedAt.at(-1)) savedAt.push(last);
  };
  for (let i = 0; i < 16; i++) {
    await advance(50);
    track();
  }
  // 100 (N), 200 (100 new ≥ max(N, 100)), 400 (200 new), 800 (400 new); not every 100.
  expect(savedAt).toEqual([100, 200, 400, 800]);
  const bytes = await loadCheckpointBytes(dir.path);
  const loaded = decodeCheckpoint(bytes!, META);
  expect(loaded.eventCount).toBe(800);
  expect(loaded.get('Bender')!.odometer(0, 799)).toBeCloseTo(projections.get('Bender')!.odometer(0, 799), 9);
});

it('saves what every robot held at one instant while chunks keep landing in the blocks it reads, and replaying from its position restores exactly the live state', async () => {
  const logs: Array<{ msg: string; position?: string }> = [];
  const logged = new Checkpointer(
    { dataDir: dir.path, everyEvents: 1_000_000_000, everySeconds: 3600, ...META },
    () => projections,
    pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
  );
  const robots = ['A', 'B', 'C', 'D'];
  const counts = new Map(robots.map((name) => [name, 0]));
  const chunks: Array<{ position: bigint; stream: string; firstRevision: bigint; events: Float64Array }> = [];
  const append = (stream: string, count: number) => {
    const first = counts.get(stream)!;
    const events = new Float64Array(count * 3);
    for (let i = 0; i < count; i++) events.set([Math.sin(first + i) * 100, Math.cos(first + i) * 100, first + i], i * 3);
    const chunk = { position: ++position, stream, firstRevision: BigInt(first), events };
    counts.set(stream, first + count);
    chunks.push(chunk);
    projections.apply([chunk]);
  };
  for (const name of robots) append(name, 100_000); // 6.4 MB to hash and write

  const saving = logged.saveIfChanged(true);
  const atSave = new Map(counts); // the save took its views synchronously
  // While the thread reads and writes, new events land behind what it reads, in the same blocks.
  let turns = 0;
  let done = false;
  void saving.then(() => (done = true));
  while (!done) {
    append(robots[turns++ % robots.length]!, 7);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const bytes = await loadCheckpointBytes(dir.path);
  await logged.stop(); // saves once more, after this test has read the first save

  const saved = logs.find((l) => l.msg === 'projection checkpoint saved')!;
  expect(turns).toBeGreaterThan(robots.length);
  const restored = decodeCheckpoint(bytes!, META);
  expect(restored.position.toString()).toBe(saved.position);
  for (const name of robots) expect(restored.get(name)!.eventCount).toBe(atSave.get(name));
  restored.apply(chunks.filter((chunk) => chunk.position > restored.position));
  for (const name of robots) {
    const live = projections.get(name)!;
    const back = restored.get(name)!;
    expect(back.eventCount).toBe(live.eventCount);
    expect(Array.from(back.copyTimestamps(0, back.eventCount))).toEqual(Array.from(live.copyTimestamps(0, live.eventCount)));
    for (let revision = 0; revision < live.eventCount; revision += 997) expect(back.cumulativeAt(revision)).toBe(live.cumulativeAt(revision));
    expect(back.cumulativeAt(back.eventCount - 1)).toBe(live.cumulativeAt(live.eventCount - 1));
    expect(back.lastPosition()).toEqual(live.lastPosition());
  }
});
