// Fuzzing the ingest socket of the real service (its own process, SQLite in a temp dir), seeded so a
// failure replays exactly: random bytes, near-valid lines with one field broken, NaN, Infinity,
// 2^53+1, huge and odd names, unicode and control characters, CRLF, empty lines, binary frames and
// frames at and over the byte and line limits, text that is not UTF-8, frames past uWS's hard cap.
//
// Checked: every frame gets exactly one reply with one status per line (or one line for a frame
// refused whole); every line built broken gets `ERR <its reason>`; the log holds exactly the events
// that were well-formed and answered OK — no malformed event, none twice; the process never exits;
// and its resident memory stays within a bound while 256 MB of garbage go through.

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON } from '../../src/domain/wire-format.js';
import { mulberry32, randomInt } from '../../src/tools/random.js';
import { getJson } from '../support/in-process-service.js';
import { IngestClient } from '../support/ingest-client.js';
import { clientFrame, rawUpgrade } from '../support/raw-ws.js';
import { spawnService, type SpawnedService } from '../support/spawned-service.js';
import { makeTempDir } from '../support/temp-dir.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const FRAME_BYTES = 4096;
const FRAME_EVENTS = 64;
const STRUCTURED_FRAMES = 20_000;
const GARBAGE_BYTES = 256 * 1024 * 1024;
const IN_FLIGHT = 128;

const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

/** What a line must be answered. */
type Expected = { kind: 'ok'; robot: string; x: number; y: number; t: number } | { kind: 'dup' } | { kind: 'err'; reason: string };

// Valid names, odd on purpose: unicode, astral characters (150 of them is 300 UTF-16 units), inner
// spaces and line separators, URL syntax that REST must percent-decode, the longest allowed.
const ROBOTS = [
  'Bender',
  'rob oto',
  'ロボット-7',
  'émile',
  '🤖'.repeat(150),
  'x'.repeat(150),
  '...',
  '%2F',
  'a/b?c#d',
  'tab\u2028sep',
  'R2-D2',
  '0',
  'Ω≈ç√∫',
  '名字 with space',
];
const lastT = new Map<string, number>(ROBOTS.map((r) => [r, 0]));
const lastOk = new Map<string, { x: string; y: string; t: number }>();

const BAD_NUMBERS = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '+1', '0x1F', ' 1', '1 ', '', '1.', '.5', '1e', '--1', '١', '1_000', '0b1'];
const BAD_TIMESTAMPS = ['9007199254740992', '9007199254740993', '-1', '1.5', '12345678901234567', '', '1e3', ' 1', '0x10', 'NaN', 'Infinity'];
const BAD_NAMES: Array<[string, string]> = [
  ['', REASON.nameLength],
  ['a'.repeat(151), REASON.nameLength],
  ['🤖'.repeat(151), REASON.nameLength],
  ['a,b', REASON.nameComma],
  ['nul\u0000here', REASON.nameControl],
  ['tab\there', REASON.nameControl],
  ['esc\u001b[31m', REASON.nameControl],
  ['del\u007f', REASON.nameControl],
  ['c1\u0085x', REASON.nameControl],
  ['cr\rinside', REASON.nameControl],
  [' lead', REASON.nameWhitespace],
  ['trail ', REASON.nameWhitespace],
  ['nbsp\u00a0', REASON.nameWhitespace],
  ['\u2003em', REASON.nameWhitespace],
  ['.', REASON.nameDots],
  ['..', REASON.nameDots],
];

function decimal(): string {
  switch (randomInt(random, 0, 5)) {
    case 0:
      return String(randomInt(random, -1000, 1000));
    case 1:
      return (random() * 2000 - 1000).toFixed(randomInt(random, 1, 12));
    case 2:
      return `${randomInt(random, 1, 9)}.${randomInt(random, 0, 999)}e${randomInt(random, -300, 300)}`;
    case 3:
      return '1e-400'; // underflows to 0: finite, accepted
    case 4:
      return '-0.5E+2';
    default:
      return String(randomInt(random, 0, 2 ** 31));
  }
}

function validLine(): [string, Expected] {
  const robot = pick(ROBOTS);
  const previous = lastOk.get(robot);
  if (previous !== undefined && chance(0.05)) {
    return [`${previous.x},${previous.y},${previous.t},${robot}`, { kind: 'dup' }]; // a resend
  }
  const t = lastT.get(robot)! + randomInt(random, 1, 1000);
  lastT.set(robot, t);
  const x = decimal();
  const y = decimal();
  lastOk.set(robot, { x, y, t });
  return [`${x},${y},${t},${robot}`, { kind: 'ok', robot, x: Number(x), y: Number(y), t }];
}

function nearValidLine(): [string, Expected] {
  const robot = pick(ROBOTS);
  const t = String(randomInt(random, 1, 1e9));
  switch (randomInt(random, 0, 4)) {
    case 0:
      return [`${pick(BAD_NUMBERS)},1,${t},${robot}`, { kind: 'err', reason: REASON.x }];
    case 1:
      return [`1,${pick(BAD_NUMBERS)},${t},${robot}`, { kind: 'err', reason: REASON.y }];
    case 2:
      return [`1,2,${pick(BAD_TIMESTAMPS)},${robot}`, { kind: 'err', reason: REASON.timestamp }];
    case 3: {
      const [name, reason] = pick(BAD_NAMES);
      return [`1,2,${t},${name}`, { kind: 'err', reason }];
    }
    default:
      return [pick(['1,2,3', '1,2', 'abc', ',,', `1;2;${t};${robot}`]), { kind: 'err', reason: REASON.fields }];
  }
}

const GARBAGE_CHARS = ['a', 'Z', '9', ' ', '\r', '\t', '\u0000', '\u007f', 'é', 'ß', '漢', '\u2028', '😀', '\ud800', '\udfff', '"', '\\', '%', '.', '-', 'e'];

/** Random text without '\n' and with at most two commas: never four fields, so never valid. */
function garbageLine(maxLength: number): [string, Expected] {
  let text = '';
  const length = randomInt(random, 0, maxLength);
  let commas = 0;
  for (let i = 0; i < length; i++) {
    if (commas < 2 && chance(0.05)) {
      text += ',';
      commas++;
    } else text += pick(GARBAGE_CHARS);
  }
  return [text, { kind: 'err', reason: '' }]; // its reason depends on how the frame ends it: see frame()
}

interface Frame {
  readonly data: string | Buffer;
  readonly binary: boolean;
  /** One entry per line; or a single whole-frame refusal. */
  readonly expected: Expected[];
  readonly refusal?: string;
}

/** Joins lines into a frame (LF or CRLF) and settles the reasons that depend on the line's final text. */
function frame(lines: Array<[string, Expected]>): Frame {
  const crlf = chance(0.3);
  const texts = lines.map(([text], i) => (crlf && i < lines.length - 1 ? `${text}\r` : text));
  // A frame's last line must not be empty: a lone trailing '\n' ends the frame instead.
  if (texts[texts.length - 1] === '') texts[texts.length - 1] = '\r';
  const expected = lines.map(([, e], i) => {
    if (e.kind !== 'err' || e.reason !== '') return e;
    const text = texts[i]!;
    const body = text.endsWith('\r') ? text.slice(0, -1) : text;
    return { kind: 'err' as const, reason: body === '' ? REASON.empty : REASON.fields };
  });
  return { data: texts.join('\n'), binary: false, expected };
}

function structuredFrame(): Frame {
  switch (randomInt(random, 0, 9)) {
    case 0:
      return { data: Buffer.from(Array.from({ length: randomInt(random, 0, 200) }, () => randomInt(random, 0, 255))), binary: true, expected: [], refusal: 'ERR binary frames are not accepted; send text frames' };
    case 1: {
      // Over the byte limit, under uWS's hard cap (4×): refused whole with a reason.
      const size = randomInt(random, FRAME_BYTES + 1, FRAME_BYTES * 4 - 16);
      return { data: 'a'.repeat(size), binary: false, expected: [], refusal: `ERR frame exceeds ${FRAME_BYTES} bytes` };
    }
    case 2: {
      // More lines than allowed: refused whole, nothing stored even though every line is valid.
      const lines = Array.from({ length: FRAME_EVENTS + randomInt(random, 1, 20) }, () => `1,1,${randomInt(random, 1, 1e6)},overflow`);
      return { data: lines.join('\n'), binary: false, expected: [], refusal: `ERR frame exceeds ${FRAME_EVENTS} events` };
    }
    case 3: {
      // Exactly at both limits: 64 lines, 4096 bytes — answered line by line.
      const lines = Array.from({ length: FRAME_EVENTS }, () => garbageLine(20));
      const built = frame(lines);
      const text = built.data as string;
      const pad = FRAME_BYTES - Buffer.byteLength(text);
      const last = `${text.slice(text.lastIndexOf('\n') + 1)}${'q'.repeat(pad)}`;
      const data = text.slice(0, text.lastIndexOf('\n') + 1) + last;
      expect(Buffer.byteLength(data)).toBe(FRAME_BYTES);
      const expected = [...built.expected.slice(0, -1), { kind: 'err' as const, reason: last.replace(/\r$/, '') === '' ? REASON.empty : REASON.fields }];
      return { data, binary: false, expected };
    }
    default: {
      const resendable = new Map(lastOk);
      const lines: Array<[string, Expected]> = [];
      const count = randomInt(random, 1, 40);
      for (let i = 0; i < count; i++) {
        const kind = random();
        if (kind < 0.45) lines.push(validLine());
        else if (kind < 0.8) lines.push(nearValidLine());
        else if (kind < 0.9) lines.push(['', { kind: 'err', reason: REASON.empty }]);
        else lines.push(garbageLine(60));
      }
      // The joined frame may go over the byte limit with long names: keep to ones that fit.
      const built = frame(lines);
      if (Buffer.byteLength(built.data as string) > FRAME_BYTES) {
        // None of its events is stored: a later resend of one is new (OK), not a duplicate.
        lastOk.clear();
        for (const [robot, event] of resendable) lastOk.set(robot, event);
        return { ...built, expected: [], refusal: `ERR frame exceeds ${FRAME_BYTES} bytes` };
      }
      return built;
    }
  }
}

const dir = makeTempDir();
let service: SpawnedService;
let ports: { ingestPort: number; httpPort: number };
let http: string;

/** GET with the path sent exactly as given, not normalised by a WHATWG URL parser as fetch would. */
function rawGet(port: number, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, method: 'GET' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    })
      .once('error', reject)
      .end();
  });
}

async function rss(): Promise<number> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('telemetry_process_resident_memory_bytes '));
  return Number(line!.split(' ')[1]);
}

beforeAll(async () => {
  service = spawnService({
    TELEMETRY_DATA_DIR: dir.path,
    TELEMETRY_MAX_FRAME_BYTES: String(FRAME_BYTES),
    TELEMETRY_MAX_EVENTS_PER_FRAME: String(FRAME_EVENTS),
    TELEMETRY_MAX_EVENTS_PER_SECOND: '0',
  });
  ports = await service.listening;
  http = `http://127.0.0.1:${ports.httpPort}`;
  await service.ready;
}, 30_000);

afterAll(async () => {
  if (service.child.exitCode === null && service.child.signalCode === null) {
    service.child.kill('SIGTERM');
    await service.exited;
  }
  dir.remove();
});

describe(`ingest fuzzing (seed ${SEED})`, () => {
  const sentOk: Array<Extract<Expected, { kind: 'ok' }>> = [];
  let cases = 0;

  it('answers every frame line for line, every broken line with its reason, and stores exactly the events answered OK', async () => {
    const client = await IngestClient.connect(ports.ingestPort);
    const pending: Array<Promise<void>> = [];
    let mismatches: string[] = [];
    for (let i = 0; i < STRUCTURED_FRAMES; i++) {
      const f = structuredFrame();
      cases += f.refusal === undefined ? f.expected.length : 1;
      pending.push(
        client.send(f.data, { binary: f.binary }).then((reply) => {
          const statuses = reply.split('\n');
          if (f.refusal !== undefined) {
            if (reply !== f.refusal) mismatches.push(`frame ${i}: expected ${f.refusal}, got ${reply.slice(0, 200)}`);
            return;
          }
          if (statuses.length !== f.expected.length) {
            mismatches.push(`frame ${i}: ${f.expected.length} lines, ${statuses.length} statuses`);
            return;
          }
          f.expected.forEach((e, k) => {
            const want = e.kind === 'ok' ? 'OK' : e.kind === 'dup' ? 'DUP' : `ERR ${e.reason}`;
            if (statuses[k] !== want) mismatches.push(`frame ${i} line ${k}: expected ${want}, got ${statuses[k]}`);
            else if (e.kind === 'ok') sentOk.push(e);
          });
        }),
      );
      if (pending.length >= IN_FLIGHT) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await client.close();
    expect(mismatches.slice(0, 20)).toEqual([]);
    mismatches = [];
    expect(sentOk.length).toBeGreaterThan(10_000);

    // Frames that end the connection: above uWS's hard cap, and text that is not UTF-8.
    for (const bytes of [Buffer.alloc(FRAME_BYTES * 4 + 1, 0x61), Buffer.from([0x31, 0x2c, 0xc3, 0x28, 0xff, 0xfe])]) {
      const socket = await rawUpgrade(ports.ingestPort);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.resume();
      socket.write(clientFrame(bytes));
      await closed;
      cases++;
    }
    expect(service.child.exitCode).toBeNull();

    // The log holds exactly what was answered OK, per robot, in order — nothing malformed, nothing twice.
    const robots = (await getJson(`${http}/api/robots`)).body as Array<{ name: string; event_count: number }>;
    const expectedRobots = [...new Set(sentOk.map((e) => e.robot))].sort();
    expect(robots.map((r) => r.name).sort()).toEqual(expectedRobots);
    for (const robot of expectedRobots) {
      const answer = await rawGet(ports.httpPort, `/api/robots/${encodeURIComponent(robot)}/events?limit=100000`);
      expect(answer.status, `${robot}: ${JSON.stringify(answer.body)}`).toBe(200);
      const stored = answer.body as Array<{ x: number; y: number; timestamp: number }>;
      const sent = sentOk.filter((e) => e.robot === robot);
      expect(stored.map((e) => e.timestamp), robot).toEqual(sent.map((e) => e.t));
      // === rather than toEqual: 0 and -0 are the same coordinate.
      const differing = stored.filter((e, k) => !(e.x === sent[k]!.x && e.y === sent[k]!.y));
      expect(differing, robot).toEqual([]);
    }
    console.log(`fuzz seed ${SEED}: ${STRUCTURED_FRAMES} frames, ${cases} cases (lines or whole frames), ${sentOk.length} events answered OK and found stored`);
  }, 60_000);

  it('keeps its memory bounded while 256 MB of garbage go through, and stays up', async () => {
    const client = await IngestClient.connect(ports.ingestPort);
    // Warm up first, so the baseline includes the heap a busy connection settles at.
    const line = Buffer.alloc(FRAME_BYTES - 1, 0x7a).toString();
    const oversize = 'y'.repeat(FRAME_BYTES * 3);
    const sendGarbage = async (bytes: number) => {
      let sent = 0;
      let pending: Array<Promise<string>> = [];
      for (let i = 0; sent < bytes; i++) {
        const data = i % 4 === 0 ? oversize : line;
        sent += data.length;
        pending.push(client.send(data));
        if (pending.length >= IN_FLIGHT) {
          const replies = await Promise.all(pending);
          pending = [];
          expect(replies.every((r) => r === `ERR ${REASON.fields}` || r === `ERR frame exceeds ${FRAME_BYTES} bytes`)).toBe(true);
        }
      }
      await Promise.all(pending);
    };
    await sendGarbage(32 * 1024 * 1024);
    const before = await rss();
    const began = performance.now();
    await sendGarbage(GARBAGE_BYTES);
    const seconds = (performance.now() - began) / 1000;
    const after = await rss();
    await client.close();
    console.log(`garbage: ${GARBAGE_BYTES / 2 ** 20} MB in ${seconds.toFixed(1)} s; service RSS ${(before / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MB`);
    // Holding on to what it was sent would cost ≥ 256 MB; a bounded loop stays well under half.
    expect(after - before).toBeLessThan(GARBAGE_BYTES / 2);
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  }, 90_000);
});
