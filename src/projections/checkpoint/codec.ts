// The binary format of a projection checkpoint segment: a run of every robot's typed arrays — its
// events from revision `from` on — the log position they reflect, and what they were built by and
// from. A checkpoint is one segment or a chain of them (checkpoint-chain.ts), each later one taking
// every robot on from where the earlier ones left it, so a restart can skip replaying the log.
//
// Layout, little-endian, every array 8-byte aligned so decoding makes Float64Array views over the
// file instead of reading event by event:
//
//   magic "TLMCKPT1" | format version u32 | projection version u32
//   log identity: u32 byte length + UTF-8, zero-padded to 8
//   position:     u32 byte length + UTF-8 decimal, zero-padded to 8
//   robot count u32 + 4 zero bytes
//   per robot:    name (u32 byte length + UTF-8, zero-padded to 8), first revision f64 (format 2
//                 only; format 1 held every robot whole), event count f64, lastX f64, lastY f64,
//                 `count` f64 timestamps, `count` f64 cumulative distances
//   SHA-256 of everything above (32 bytes)

import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { createError, type TelemetryError } from '../../domain/errors.js';
import { Projections } from '../projections.js';
import { RobotProjection } from '../robot-projection.js';

export interface CheckpointMeta {
  /** Bumped whenever what a projection computes changes, so old checkpoints are not trusted. */
  readonly projectionVersion: number;
  /** The log the projections were built from (EventLog identity). */
  readonly logIdentity: string;
}

const MAGIC = Buffer.from('TLMCKPT1', 'latin1');
/** Written; format 1 (whole robots, no first revision) is still read. */
const FORMAT_VERSION = 2;
const DIGEST_BYTES = 32;
const HEADER_BYTES = 16; // magic, format version, projection version
/** Header, empty identity, position "0", robot count, digest. */
const MIN_BYTES = HEADER_BYTES + 8 + 8 + 8 + DIGEST_BYTES;
/** Per robot after its name: first revision (format 2), event count, lastX, lastY. */
const robotFixedBytes = (format: number): number => (format === 1 ? 24 : 32);
const MAX_U32 = 0xffff_ffff;
// Float64Array views use the host's byte order; on a big-endian host the arrays are byte-swapped
// in a private copy instead, so the file stays little-endian everywhere.
const LITTLE_ENDIAN = endianness() === 'LE';
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** True when `bytes` begin as a segment does (a whole checkpoint of the one-file layout is one). */
export function isSegment(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.equals(bytes.subarray(0, MAGIC.length));
}

/** The segment's own digest: its last bytes. */
export function segmentDigest(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(bytes.length - DIGEST_BYTES);
}

/** True for a position as checkpoints write it: a non-negative decimal integer, no sign or leading zeros. */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}

/** Throws TELEMETRY_CHECKPOINT_INVALID, naming both, unless `found` was built by this build from this log. */
export function checkMeta(found: CheckpointMeta, expect: CheckpointMeta): void {
  if (found.projectionVersion !== expect.projectionVersion) {
    throw invalid(`projection version differs: checkpoint has ${found.projectionVersion}, this build expects ${expect.projectionVersion}`);
  }
  if (found.logIdentity !== expect.logIdentity) {
    throw invalid(
      `log identity differs: checkpoint was taken from log ${JSON.stringify(found.logIdentity)}, ` +
        `this log is ${JSON.stringify(expect.logIdentity)}`,
    );
  }
}

/**
 * Serialises every robot (sorted by name, so equal projections give equal bytes) and the position
 * as one whole checkpoint, in one buffer: for tests and the codec benchmark. Saves stream the same
 * pieces to a file instead (checkpointPieces).
 */
export function encodeCheckpoint(projections: Projections, meta: CheckpointMeta): Buffer {
  const robots = Array.from(projections.allRobots(), robotState);
  return Buffer.concat([...checkpointPieces({ meta, position: projections.position.toString(), robots })]);
}

/** One robot's state as a checkpoint segment holds it: its events from revision `from` on. */
export interface RobotState {
  readonly name: string;
  /** The revision of the first event held (0 unless the segment continues earlier ones). */
  readonly from: number;
  readonly count: number;
  /** Coordinates of the robot's last event. */
  readonly x: number;
  readonly y: number;
  /** `count` timestamps and `count` cumulative distances, each in pieces laid end to end. */
  readonly timestamps: readonly Float64Array[];
  readonly cumulative: readonly Float64Array[];
}

/**
 * What a checkpoint is made of: the robots' states and the log position P they reflect. A robot may
 * reflect events after P too (copied later than P was read; see Checkpointer): replaying from P
 * re-delivers those, and a projection skips the revisions it already has.
 */
export interface CheckpointContent {
  readonly meta: CheckpointMeta;
  /** The position, in decimal. */
  readonly position: string;
  readonly robots: readonly RobotState[];
}

/**
 * The robot's state as it is now: views of its blocks, not copies. They stay right while the
 * projection grows, and they are in shared memory, so a thread they are posted to reads them as is.
 */
export function robotState(robot: RobotProjection): RobotState {
  const [x, y] = robot.lastPosition();
  const { timestamps, cumulative } = robot.spans();
  return { name: robot.name, from: 0, count: robot.eventCount, x, y, timestamps, cumulative };
}

/**
 * The whole checkpoint — body, then its SHA-256 — as byte pieces in file order, for writing without
 * first laying it out in one buffer: the robots' arrays are yielded as views of their own memory
 * (copied only to swap bytes on a big-endian host). The digest is computed as the pieces go by.
 */
export function* checkpointPieces(content: CheckpointContent): Generator<Uint8Array> {
  const hash = createHash('sha256');
  for (const piece of bodyPieces(content)) {
    hash.update(piece);
    yield piece;
  }
  yield hash.digest();
}

/** The checkpoint's bytes before the digest, in file order. */
function* bodyPieces(content: CheckpointContent): Generator<Uint8Array> {
  const { projectionVersion } = content.meta;
  if (!Number.isInteger(projectionVersion) || projectionVersion < 0 || projectionVersion > MAX_U32) {
    throw new RangeError(`projectionVersion must be an integer 0-${MAX_U32}, got ${projectionVersion}`);
  }
  if (!isDecimal(content.position)) throw new RangeError(`position must be a non-negative decimal, got ${content.position}`);

  const robots = [...content.robots].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const identity = Buffer.from(content.meta.logIdentity, 'utf8');
  const position = Buffer.from(content.position, 'latin1');
  const names = robots.map((robot) => Buffer.from(robot.name, 'utf8'));
  for (const robot of robots) {
    checkPieces(robot, robot.timestamps, 'timestamps');
    checkPieces(robot, robot.cumulative, 'cumulative distances');
    if (!Number.isSafeInteger(robot.from) || robot.from < 0) throw new RangeError(`robot ${JSON.stringify(robot.name)} starts at revision ${robot.from}`);
  }
  const head = Buffer.alloc(HEADER_BYTES + stringBytes(identity.length) + stringBytes(position.length) + 8);
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  MAGIC.copy(head, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, projectionVersion, true);
  let offset = writeString(head, view, HEADER_BYTES, identity);
  offset = writeString(head, view, offset, position);
  view.setUint32(offset, robots.length, true);
  yield head;
  for (let i = 0; i < robots.length; i++) {
    const robot = robots[i]!;
    const name = names[i]!;
    const fixed = Buffer.alloc(stringBytes(name.length) + robotFixedBytes(FORMAT_VERSION));
    const fixedView = new DataView(fixed.buffer, fixed.byteOffset, fixed.length);
    offset = writeString(fixed, fixedView, 0, name);
    fixedView.setFloat64(offset, robot.from, true);
    fixedView.setFloat64(offset + 8, robot.count, true);
    fixedView.setFloat64(offset + 16, robot.x, true);
    fixedView.setFloat64(offset + 24, robot.y, true);
    yield fixed;
    for (const values of robot.timestamps) yield littleEndianBytes(values);
    for (const values of robot.cumulative) yield littleEndianBytes(values);
  }
}

function checkPieces(robot: RobotState, pieces: readonly Float64Array[], what: string): void {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  if (total !== robot.count) throw new RangeError(`robot ${JSON.stringify(robot.name)} has ${robot.count} events but ${total} ${what}`);
}

/** The values' bytes, little-endian: a view of their memory, or on a big-endian host a swapped copy. */
function littleEndianBytes(values: Float64Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap64();
}

/** One robot's run of events as a decoded segment holds it. */
export interface SegmentRobot {
  readonly name: string;
  /** Revision of the first event held. */
  readonly from: number;
  readonly x: number;
  readonly y: number;
  readonly timestamps: Float64Array;
  readonly cumulative: Float64Array;
}

/** A decoded segment: the position it reflects and its robots, sorted by name. */
export interface DecodedSegment {
  readonly position: bigint;
  readonly robots: readonly SegmentRobot[];
}

/**
 * Decodes one segment, or throws TELEMETRY_CHECKPOINT_INVALID saying why it cannot be used. When
 * `bytes` is 8-byte aligned shared memory (as checkpoint files are read) and the host little-endian,
 * the robots' arrays are views of it, so the caller must not modify `bytes` afterwards; otherwise
 * the bytes are copied once, into shared memory. Either way the arrays can become robots' blocks,
 * which checkpoints later hand to their thread without a copy.
 */
export function decodeSegment(bytes: Buffer, expect: CheckpointMeta): DecodedSegment {
  const length = bytes.length;
  if (length < MAGIC.length) throw invalid(`too short: ${length} bytes, a checkpoint has at least ${MIN_BYTES}`);
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw invalid(`bad magic: expected "TLMCKPT1", found 0x${bytes.subarray(0, MAGIC.length).toString('hex')}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const format = length >= 12 ? view.getUint32(8, true) : FORMAT_VERSION;
  if (format !== 1 && format !== FORMAT_VERSION) {
    throw invalid(`unknown format version ${format} (this build reads 1 and ${FORMAT_VERSION})`);
  }
  if (length < MIN_BYTES) throw invalid(`too short: ${length} bytes, a checkpoint has at least ${MIN_BYTES}`);

  const bodyEnd = length - DIGEST_BYTES;
  const digest = createHash('sha256').update(bytes.subarray(0, bodyEnd)).digest();
  const layout = readLayout(view, bodyEnd, format);
  if (!digest.equals(bytes.subarray(bodyEnd))) {
    // The lengths inside say whether bytes are missing; if none are, the contents are corrupt.
    if ('needed' in layout) {
      throw invalid(`truncated: ${length} bytes, but its lengths call for at least ${layout.needed + DIGEST_BYTES}`);
    }
    throw invalid('checksum mismatch: the contents are corrupt');
  }
  if ('needed' in layout) throw malformed(`contents run past the end of the body at byte ${bodyEnd}`);
  if ('problem' in layout) throw malformed(layout.problem);
  if (layout.end !== bodyEnd) throw malformed(`${bodyEnd - layout.end} unexpected bytes after the last robot`);

  checkMeta({ projectionVersion: view.getUint32(12, true), logIdentity: readString(bytes, view, HEADER_BYTES, 'log identity') }, expect);
  const positionText = readString(bytes, view, layout.position, 'position');
  if (!isDecimal(positionText)) throw malformed(`position ${JSON.stringify(positionText)} is not a decimal integer`);
  checkPadding(bytes, layout.robotCount + 4, 4, 'robot count');

  const file = LITTLE_ENDIAN && bytes.byteOffset % 8 === 0 && bytes.buffer instanceof SharedArrayBuffer ? bytes : alignedCopy(bytes);
  const robots: SegmentRobot[] = [];
  const seen = new Set<string>();
  for (const robot of layout.robots) {
    const name = readString(bytes, view, robot.name, 'robot name');
    if (seen.has(name)) throw malformed(`robot ${JSON.stringify(name)} appears twice`);
    seen.add(name);
    robots.push({
      name,
      from: robot.from,
      x: view.getFloat64(robot.arrays - 16, true),
      y: view.getFloat64(robot.arrays - 8, true),
      timestamps: readArray(file, robot.arrays, robot.count),
      cumulative: readArray(file, robot.arrays + 8 * robot.count, robot.count),
    });
  }
  return { position: BigInt(positionText), robots };
}

/**
 * Rebuilds the projections from the bytes of a whole checkpoint — one segment holding every robot
 * from its first event — or throws TELEMETRY_CHECKPOINT_INVALID saying why they cannot be used.
 * The robots' arrays are views of `bytes` where they can be (see decodeSegment).
 */
export function decodeCheckpoint(bytes: Buffer, expect: CheckpointMeta): Projections {
  return projectionsFromSegments([decodeSegment(bytes, expect)]);
}

/**
 * The projections a chain of segments describes: every robot's runs, in segment order, become its
 * blocks. Each run must start where the robot's earlier runs ended (a robot's first at revision 0),
 * or the chain is TELEMETRY_CHECKPOINT_INVALID; the position is the last segment's.
 */
export function projectionsFromSegments(segments: readonly DecodedSegment[]): Projections {
  const runs = new Map<string, { count: number; x: number; y: number; timestamps: Float64Array[]; cumulative: Float64Array[] }>();
  segments.forEach((segment, s) => {
    for (const robot of segment.robots) {
      let run = runs.get(robot.name);
      if (run === undefined) {
        run = { count: 0, x: 0, y: 0, timestamps: [], cumulative: [] };
        runs.set(robot.name, run);
      }
      if (robot.from !== run.count) {
        throw invalid(`segment ${s + 1} of ${segments.length} takes robot ${JSON.stringify(robot.name)} on at revision ${robot.from}, but the segments before it end at ${run.count}`);
      }
      if (robot.timestamps.length === 0) continue;
      run.count += robot.timestamps.length;
      run.x = robot.x;
      run.y = robot.y;
      run.timestamps.push(robot.timestamps);
      run.cumulative.push(robot.cumulative);
    }
  });
  const projections = new Projections();
  for (const [name, run] of runs) projections.add(RobotProjection.adopt(name, run.timestamps, run.cumulative, run.x, run.y));
  projections.position = segments.length === 0 ? 0n : segments[segments.length - 1]!.position;
  return projections;
}

interface RobotLayout {
  /** Offset of the name's length field. */
  readonly name: number;
  readonly from: number;
  /** Offset of the timestamps, followed by the cumulative distances. */
  readonly arrays: number;
  readonly count: number;
}

interface Layout {
  readonly position: number;
  readonly robotCount: number;
  readonly robots: RobotLayout[];
  readonly end: number;
}

/**
 * Walks the length fields up to `end` (one step per robot, never per event), returning where each
 * part starts, or how many bytes the lengths call for when they run past `end`.
 */
function readLayout(view: DataView, end: number, format: number): Layout | { needed: number } | { problem: string } {
  const fixedBytes = robotFixedBytes(format);
  let offset = stringEnd(view, HEADER_BYTES, end);
  if (offset > end) return { needed: offset };
  const position = offset;
  offset = stringEnd(view, offset, end);
  if (offset + 8 > end) return { needed: offset + 8 };
  const robotCount = offset;
  const count = view.getUint32(offset, true);
  offset += 8;
  const robots: RobotLayout[] = [];
  for (let i = 0; i < count; i++) {
    const name = offset;
    offset = stringEnd(view, offset, end);
    if (offset + fixedBytes > end) return { needed: offset + fixedBytes };
    const from = format === 1 ? 0 : view.getFloat64(offset, true);
    if (!Number.isSafeInteger(from) || from < 0) return { problem: `robot #${i} starts at revision ${from}` };
    const events = view.getFloat64(offset + fixedBytes - 24, true);
    if (!Number.isSafeInteger(events) || events < 0) return { problem: `robot #${i} has event count ${events}` };
    offset += fixedBytes;
    robots.push({ name, from, arrays: offset, count: events });
    offset += 16 * events;
    if (offset > end) return { needed: offset };
  }
  return { position, robotCount, robots, end: offset };
}

/** End of the length-prefixed string at `offset`, padding included; past `end` when it does not fit. */
function stringEnd(view: DataView, offset: number, end: number): number {
  if (offset + 4 > end) return offset + 4;
  return offset + stringBytes(view.getUint32(offset, true));
}

function stringBytes(length: number): number {
  return pad8(4 + length);
}

function pad8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}

function writeString(bytes: Buffer, view: DataView, offset: number, text: Buffer): number {
  view.setUint32(offset, text.length, true);
  text.copy(bytes, offset + 4);
  return offset + stringBytes(text.length);
}

/** The UTF-8 string at `offset`, whose bounds readLayout has checked; its padding must be zero. */
function readString(bytes: Buffer, view: DataView, offset: number, what: string): string {
  const length = view.getUint32(offset, true);
  const start = offset + 4;
  checkPadding(bytes, start + length, offset + stringBytes(length) - start - length, what);
  try {
    return UTF8.decode(bytes.subarray(start, start + length));
  } catch {
    throw malformed(`${what} at byte ${offset} is not valid UTF-8`);
  }
}

function checkPadding(bytes: Buffer, offset: number, length: number, what: string): void {
  for (let i = offset; i < offset + length; i++) {
    if (bytes[i] !== 0) throw malformed(`non-zero padding after the ${what} at byte ${i}`);
  }
}

/** The bytes, copied once into fresh shared memory (offset 0, so every array in it is aligned). */
function alignedCopy(bytes: Buffer): Buffer {
  const copy = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(copy);
  return copy;
}

function readArray(file: Buffer, offset: number, count: number): Float64Array {
  if (!LITTLE_ENDIAN) file.subarray(offset, offset + 8 * count).swap64();
  return new Float64Array(file.buffer, file.byteOffset + offset, count);
}

function invalid(reason: string): TelemetryError {
  return createError('CHECKPOINT_INVALID', reason);
}

function malformed(reason: string): TelemetryError {
  return invalid(`malformed body: ${reason}`);
}
