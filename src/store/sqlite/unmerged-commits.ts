// The commits a read finds beyond the streams' rows (schema.ts): those after `merged_through`. Each
// one's directory is decoded once per connection — a commit never changes — and indexed by stream,
// so reading a live robot's newest events costs a few lookups, not a parse of every commit.

import type Database from 'better-sqlite3';
import { fromBlob } from './blob.js';
import { readDirectory } from './log-writer.js';

/** One append of a stream in a commit. */
export interface CommitPart {
  /** The commit's position. */
  readonly commit: number;
  /** The append's log position. */
  readonly position: number;
  readonly first: number;
  readonly count: number;
  /** Where the append's events start among the commit's, in events. */
  readonly offset: number;
}

interface Directory {
  readonly firsts: Float64Array;
  readonly counts: Int32Array;
  readonly offsets: Int32Array;
  /** Stream id → index of its first append in the commit. */
  readonly byStream: Map<number, number>;
  /** Index of the stream's next append in the same commit, or -1 (a stream appended twice in one batch). */
  readonly again: Int32Array;
}

export class UnmergedCommits {
  private readonly sql;
  /** Directories decoded so far, by commit position; those merged are dropped. */
  private readonly decoded = new Map<number, Directory>();

  constructor(db: Database.Database) {
    this.sql = {
      mergedThrough: db.prepare<[], number>("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'merged_through'").pluck(),
      commitsAfter: db.prepare<[number], number>('SELECT position FROM commits WHERE position > ? ORDER BY position').pluck(),
      directory: db.prepare<[number], string>('SELECT directory FROM commits WHERE position = ?').pluck(),
      events: db.prepare<[number, number, number], Buffer>('SELECT substr(events, ?, ?) FROM commits WHERE position = ?').pluck(),
    };
  }

  /**
   * The stream's appends among the unmerged commits that hold revision `from` or later, oldest first.
   * Read inside the caller's transaction, so they agree with the stream's head.
   */
  partsOf(id: number, from: number): CommitPart[] {
    const through = this.sql.mergedThrough.get()!;
    this.forgetThrough(through);
    const parts: CommitPart[] = [];
    for (const commit of this.sql.commitsAfter.all(through)) {
      const directory = this.directoryOf(commit);
      for (let k = directory.byStream.get(id) ?? -1; k >= 0; k = directory.again[k]!) {
        const first = directory.firsts[k]!;
        const count = directory.counts[k]!;
        if (first + count > from) parts.push({ commit, position: commit + k, first, count, offset: directory.offsets[k]! });
      }
    }
    return parts;
  }

  /** Events [skip, skip + take) of the part, as an aligned copy. */
  events(part: CommitPart, skip: number, take: number): Float64Array {
    return fromBlob(this.sql.events.get((part.offset + skip) * 24 + 1, take * 24, part.commit)!);
  }

  private directoryOf(commit: number): Directory {
    const known = this.decoded.get(commit);
    if (known !== undefined) return known;
    const entries = readDirectory(this.sql.directory.get(commit)!);
    const n = entries.length;
    const directory: Directory = {
      firsts: new Float64Array(n),
      counts: new Int32Array(n),
      offsets: new Int32Array(n),
      byStream: new Map(),
      again: new Int32Array(n).fill(-1),
    };
    const last = new Map<number, number>();
    let offset = 0;
    for (let k = 0; k < n; k++) {
      const [id, first, count] = entries[k]!;
      directory.firsts[k] = first;
      directory.counts[k] = count;
      directory.offsets[k] = offset;
      offset += count;
      const before = last.get(id);
      if (before === undefined) directory.byStream.set(id, k);
      else directory.again[before] = k;
      last.set(id, k);
    }
    this.decoded.set(commit, directory);
    return directory;
  }

  private forgetThrough(through: number): void {
    for (const commit of this.decoded.keys()) if (commit <= through) this.decoded.delete(commit);
  }
}
