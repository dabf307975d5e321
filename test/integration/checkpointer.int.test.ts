// When the checkpointer saves (after N new events at first, then after as many new events as the
// checkpoint holds, up to a segment's worth), what each save writes (only what is new, as a segment
// of the chain), and what a save holds while ingest goes on. Real projections, a real data dir, and
// the real save thread.

import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/projections/checkpoint/checkpoint-chain.js';
import { CHECKPOINT_FILE } from '../../src/projections/checkpoint/checkpoint-file.js';
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
  position = 0n;
  t = 0;
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
  const loaded = (await loadCheckpoint(dir.path, META))!.projections;
  expect(loaded.eventCount).toBe(800);
  expect(loaded.get('Bender')!.odometer(0, 799)).toBeCloseTo(projections.get('Bender')!.odometer(0, 799), 9);
});

/** Each thread of this process, by id, and its nice value (field 19 of its stat, after the name). */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const id of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8');
    nices.set(id, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nices;
}

it.runIf(process.platform === 'linux' && getPriority() < 19)(
  'saves on a thread of its own at the lowest CPU priority, every other thread left at its own',
  async () => {
    const usual = getPriority();
    expect(new Set(threadNices().values())).toEqual(new Set([usual]));
    await advance(100);
    expect(checkpointer.lastSaved?.events).toBe(100);
    const nices = [...threadNices().values()];
    expect(nices.filter((nice) => nice === 19)).toHaveLength(1);
    expect(nices.filter((nice) => nice !== 19).every((nice) => nice === usual)).toBe(true);
  },
);

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
  const loaded = await loadCheckpoint(dir.path, META);
  await logged.stop(); // saves once more, after this test has read the first save

  const saved = logs.find((l) => l.msg === 'projection checkpoint saved')!;
  expect(turns).toBeGreaterThan(robots.length);
  const restored = loaded!.projections;
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

/** The manifest's segments, as the checkpoint in the data dir names them. */
function manifestSegments(): Array<{ file: string; events: number; bytes: number }> {
  const text = readFileSync(join(dir.path, CHECKPOINT_FILE), 'utf8');
  return JSON.parse(text.slice(0, text.indexOf('\n'))).segments;
}

function expectSameEvents(actual: Projections, expected: Projections): void {
  expect(actual.eventCount).toBe(expected.eventCount);
  expect(actual.position).toBe(expected.position);
  for (const live of expected.allRobots()) {
    const back = actual.get(live.name)!;
    expect(back.eventCount).toBe(live.eventCount);
    expect(Array.from(back.copyTimestamps(0, back.eventCount))).toEqual(Array.from(live.copyTimestamps(0, live.eventCount)));
    expect(back.cumulativeAt(back.eventCount - 1)).toBe(live.cumulativeAt(live.eventCount - 1));
    expect(back.lastPosition()).toEqual(live.lastPosition());
  }
}

it('writes only what is new once the checkpoint holds a segment, folds small saves into the last segment, and carries the chain across a restart', async () => {
  const settings = { dataDir: dir.path, everyEvents: 100, everySeconds: 3600, segmentEvents: 400, ...META };
  checkpointer = new Checkpointer(settings, () => projections, pino({ level: 'silent' }));
  const shape = () => manifestSegments().map((segment) => segment.events);
  const shapes: number[][] = [];
  for (let i = 0; i < 24; i++) {
    await advance(50);
    if (checkpointer.lastSaved?.events === projections.eventCount) shapes.push(shape());
  }
  // Whole while the history doubles within a segment's worth (100, 200, 400), then a segment of
  // about 400 new events at a time: each save writes what followed the last one, not everything.
  expect(shapes).toEqual([[100], [200], [400], [400, 400], [400, 400, 400]]);
  const files = manifestSegments().map((segment) => segment.file);
  for (const segment of manifestSegments()) expect(segment.bytes).toBeLessThan(16 * segment.events + 200);
  // A save of few events starts a small last segment; the next one takes its place.
  await advance(30);
  await checkpointer.saveIfChanged();
  expect(shape()).toEqual([400, 400, 400, 30]);
  await advance(20);
  await checkpointer.saveIfChanged();
  expect(shape()).toEqual([400, 400, 400, 50]);
  expect(manifestSegments().map((segment) => segment.file).slice(0, 3)).toEqual(files);
  // Nothing on disk but the manifest and what it names: the replaced segment is gone.
  expect(readdirSync(dir.path).sort()).toEqual([CHECKPOINT_FILE, ...manifestSegments().map((segment) => segment.file)].sort());
  expectSameEvents((await loadCheckpoint(dir.path, META))!.projections, projections);

  // A restart loads the chain and goes on with it: the last segment still takes small saves.
  await checkpointer.stop();
  const loaded = (await loadCheckpoint(dir.path, META))!;
  projections = loaded.projections;
  checkpointer = new Checkpointer(settings, () => projections, pino({ level: 'silent' }));
  checkpointer.loaded(loaded, new Date());
  await advance(25);
  await checkpointer.saveIfChanged();
  expect(shape()).toEqual([400, 400, 400, 75]);
  expect(manifestSegments().map((segment) => segment.file).slice(0, 3)).toEqual(files);
  expectSameEvents((await loadCheckpoint(dir.path, META))!.projections, projections);

  // Projections the chain does not describe (a rebuild swapped in) are saved whole, as a new chain.
  const rebuilt = new Projections();
  rebuilt.apply([{ position, stream: 'Bender', firstRevision: 0n, events: Float64Array.from({ length: 3 * 10 }, (_, i) => i) }]);
  projections = rebuilt;
  await checkpointer.saveIfChanged(true);
  expect(shape()).toEqual([10]);
  expect(readdirSync(dir.path).sort()).toEqual([CHECKPOINT_FILE, manifestSegments()[0]!.file].sort());
  expectSameEvents((await loadCheckpoint(dir.path, META))!.projections, rebuilt);
});
