// A checkpoint as a chain of segments. A robot's events, once in a block, never change
// (robot-projection.ts), so a save need not write again what an earlier one wrote: it writes only
// the events each robot gained since (a segment, codec.ts), then replaces the manifest — the file
// CHECKPOINT_FILE — with one naming every segment in order. Rewriting the whole history at every
// save put a 512 MB write (32M events) into an ingest window that had no other disk work than the
// log's commits (BENCHMARKS.md, "Checkpoints of a long history").
//
// So that segments stay few, a save whose new events fit beside the last segment's within
// SEGMENT_EVENTS writes the two as one segment in place of the last; otherwise it adds one. A
// long history is then segments of about SEGMENT_EVENTS each and one smaller last one.
//
// The manifest is JSON followed by a line with its SHA-256, and names each segment's own digest, so
// a damaged or mismatched file anywhere in the chain makes the whole checkpoint unusable (rebuilt
// from the log), never silently partial. A CHECKPOINT_FILE that is itself one whole segment (as
// written before chains) still loads.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createError, hasCode, type TelemetryError } from '../../domain/errors.js';
import type { Projections } from '../projections.js';
import { isSegmentFileName, loadCheckpointBytes, removeSegments, saveCheckpoint, writeNewFile } from './checkpoint-file.js';
import {
  checkMeta,
  checkpointPieces,
  decodeCheckpoint,
  decodeSegment,
  isDecimal,
  isSegment,
  projectionsFromSegments,
  segmentDigest,
  type CheckpointMeta,
  type DecodedSegment,
} from './codec.js';
import { robotStates, type SharedSnapshot } from './shared-snapshot.js';

/**
 * Events a segment may gather by merging with the next save before a new one is started: 4M events
 * (64 MiB), a second's paced writing. Larger means fewer files and more rewriting.
 */
export const SEGMENT_EVENTS = 4_000_000;

/** One segment as the manifest names it. */
export interface SegmentEntry {
  readonly file: string;
  /** The segment's own digest (its last 32 bytes), hex. */
  readonly sha256: string;
  readonly bytes: number;
  /** Events it holds, over all robots. */
  readonly events: number;
}

interface Manifest {
  readonly manifest: 1;
  readonly projectionVersion: number;
  readonly logIdentity: string;
  /** The position the checkpoint reflects (its last segment's), in decimal. */
  readonly position: string;
  readonly segments: readonly SegmentEntry[];
}

/** A save handed to the checkpoint thread (workers/save-checkpoint.ts). */
export interface CheckpointSaveTask {
  readonly meta: CheckpointMeta;
  /** The position, in decimal. */
  readonly position: string;
  /** The robots' states, as locations in the projections' shared memory (not copies), each from the revision to save on. */
  readonly robots: SharedSnapshot;
  readonly dataDir: string;
  /** Whether to pace the writing (checkpoint-file.ts). */
  readonly paced: boolean;
  /** The segment file to write, and the segments the manifest names before it. */
  readonly file: string;
  readonly keep: readonly SegmentEntry[];
  /** Segment files no longer named once this save is in place (deleted where they may be). */
  readonly drop: readonly string[];
}

/**
 * Writes the task's segment, then the manifest naming it after the kept ones, then deletes the
 * segments dropped; resolves with the new segment's entry. A crash before the manifest is replaced
 * leaves the previous checkpoint whole and an orphan segment (removed at the next start).
 * `blocking` writes the segment with blocking calls (checkpoint-file.ts), for the save thread.
 */
export async function saveSegment(task: CheckpointSaveTask, { blocking = false } = {}): Promise<SegmentEntry> {
  const { meta, position, dataDir } = task;
  const robots = robotStates(task.robots);
  let events = 0;
  for (const robot of robots) events += robot.count;
  let bytes = 0;
  let digest: Uint8Array | undefined;
  function* counted(): Generator<Uint8Array> {
    for (const piece of checkpointPieces({ meta, position, robots })) {
      bytes += piece.length;
      digest = piece; // the last piece is the segment's digest
      yield piece;
    }
  }
  await writeNewFile(join(dataDir, task.file), counted(), { paced: task.paced, blocking });
  const entry: SegmentEntry = { file: task.file, sha256: Buffer.from(digest!).toString('hex'), bytes, events };
  const manifest: Manifest = { manifest: 1, ...meta, position, segments: [...task.keep, entry] };
  await saveCheckpoint(dataDir, [encodeManifest(manifest)]);
  await removeSegments(dataDir, task.drop);
  return entry;
}

/** A checkpoint as loaded: the projections, and what a save continuing its chain needs. */
export interface LoadedCheckpoint {
  readonly projections: Projections;
  /** The chain's segments; null when the checkpoint was one whole file (the next save starts a chain). */
  readonly segments: readonly SegmentEntry[] | null;
  /** Per robot, the revision the last segment starts at (robots it does not hold: their event count). */
  readonly lastStart: ReadonlyMap<string, number>;
}

/**
 * Loads the checkpoint: null when there is none; throws TELEMETRY_CHECKPOINT_INVALID when any part
 * of it is missing, damaged, or from another build or log; other errors when the files cannot be read.
 */
export async function loadCheckpoint(dataDir: string, expect: CheckpointMeta): Promise<LoadedCheckpoint | null> {
  const bytes = await loadCheckpointBytes(dataDir);
  if (bytes === null) return null;
  if (isSegment(bytes)) {
    return { projections: decodeCheckpoint(bytes, expect), segments: null, lastStart: new Map() };
  }
  const manifest = parseManifest(bytes);
  checkMeta(manifest, expect);
  const segments: DecodedSegment[] = [];
  for (const [i, entry] of manifest.segments.entries()) {
    const what = `segment ${i + 1} of ${manifest.segments.length} (${entry.file})`;
    const segment = await loadCheckpointBytes(dataDir, entry.file);
    if (segment === null) throw invalid(`${what} is missing`);
    if (segment.length !== entry.bytes || Buffer.from(segmentDigest(segment)).toString('hex') !== entry.sha256) {
      throw invalid(`${what} is not the file the manifest names (size or digest differs)`);
    }
    try {
      segments.push(decodeSegment(segment, expect));
    } catch (error) {
      if (!hasCode(error, 'CHECKPOINT_INVALID')) throw error;
      throw invalid(`${what}: ${(error as Error).message.slice(INVALID_PREFIX.length)}`);
    }
  }
  const projections = projectionsFromSegments(segments);
  if (projections.position.toString() !== manifest.position) {
    throw invalid(`the manifest's position ${manifest.position} is not its last segment's (${projections.position})`);
  }
  const lastStart = new Map<string, number>();
  for (const robot of projections.allRobots()) lastStart.set(robot.name, robot.eventCount);
  for (const robot of segments.at(-1)?.robots ?? []) lastStart.set(robot.name, robot.from);
  return { projections, segments: manifest.segments, lastStart };
}

/** The segment files the current manifest names; empty when there is none or it cannot be read. */
export async function namedSegments(dataDir: string): Promise<Set<string>> {
  try {
    const bytes = await loadCheckpointBytes(dataDir);
    if (bytes === null || isSegment(bytes)) return new Set();
    return new Set(parseManifest(bytes).segments.map((entry) => entry.file));
  } catch {
    return new Set();
  }
}

function encodeManifest(manifest: Manifest): Buffer {
  const json = JSON.stringify(manifest);
  return Buffer.from(`${json}\n${sha256(json)}\n`, 'utf8');
}

/** What every TELEMETRY_CHECKPOINT_INVALID message starts with, before its reason. */
const INVALID_PREFIX = createError('CHECKPOINT_INVALID', '').message;
const HEX_DIGEST = /^[0-9a-f]{64}$/;

function parseManifest(bytes: Buffer): Manifest {
  const text = bytes.toString('utf8');
  const match = /^(.*)\n([0-9a-f]{64})\n$/s.exec(text);
  if (match === null) throw invalid('the manifest is not a manifest (or is truncated)');
  const [, json, digest] = match;
  if (sha256(json!) !== digest) throw invalid('manifest checksum mismatch: the contents are corrupt');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(json!) as Manifest;
  } catch {
    throw invalid('the manifest is not valid JSON');
  }
  const segmentsValid =
    Array.isArray(manifest.segments) &&
    manifest.segments.every(
      (entry) =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof entry.file === 'string' &&
        isSegmentFileName(entry.file) &&
        typeof entry.sha256 === 'string' &&
        HEX_DIGEST.test(entry.sha256) &&
        Number.isSafeInteger(entry.bytes) &&
        Number.isSafeInteger(entry.events),
    );
  if (
    manifest.manifest !== 1 ||
    !Number.isInteger(manifest.projectionVersion) ||
    typeof manifest.logIdentity !== 'string' ||
    typeof manifest.position !== 'string' ||
    !isDecimal(manifest.position) ||
    !segmentsValid ||
    manifest.segments.length === 0
  ) {
    throw invalid('the manifest is malformed');
  }
  return manifest;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function invalid(reason: string): TelemetryError {
  return createError('CHECKPOINT_INVALID', reason);
}
