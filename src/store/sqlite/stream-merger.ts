// Copies the log's commits into each stream's own rows (schema.ts), on the writer thread between
// commits: the appends wait only for their commit row, and a stream's rows hold several commits'
// worth of its events each, so a live fleet is stored — and read back — in rows of tens of events
// rather than one row per robot per commit.
//
// A merge takes the oldest commits not yet merged (`mergeCommits` of them), gathers each stream's
// events from them and writes them as one row per stream (split at MAX_ROW_EVENTS), in slices of
// streams, one slice after each commit, so no commit waits behind a whole merge. The last slice
// moves `merged_through` on and drops the merged commits' copy of the events. Each stream's
// `merged_rev` is read before its row is written, so a merge never writes what is already in the
// rows — another process's writer may merge the same commits, or a slice may have committed before
// its process died.
//
// Once this merger has written `indexEveryRows` rows to a stream, the transaction that wrote the
// last of them also indexes them, as one group: the merger remembers the positions of the rows it
// wrote, so a group costs one insert and no walk. The head's `indexed_rev` is the check that the run
// it remembers is the whole tail; where it is not (another process wrote to the stream, or the tail
// is older than this merger) the tail is walked through its chain instead.

import type Database from 'better-sqlite3';
import { EVENT_STRIDE } from '../../domain/location.js';
import { concatEvents, fromBlob, toBlob } from './blob.js';
import { readDirectory, type StoredCommit } from './log-writer.js';

/**
 * Most events in one row. A point read (an events page, a history lookup) decodes whole rows, so a
 * large append is split: reading 100 events never copies more than this many.
 */
export const MAX_ROW_EVENTS = 1024;

/**
 * Commits merged together. More means fewer, larger rows (less work per event, here and for every
 * read); fewer means a stream's newest events leave the commits sooner, so reads of them look
 * through fewer commit directories.
 */
export const MERGE_COMMITS = 8;

/**
 * Rows a stream gathers outside the index before a transaction indexes them as one group. Larger
 * means fewer index writes; smaller keeps short both the chain a read of the newest events walks
 * and the rows a read within a group passes over.
 */
export const INDEX_EVERY_ROWS = 64;

/**
 * A run also becomes a group once it holds this many events per row of its length. A read within a
 * group looks at each of its rows, so groups of large rows are kept to a few rows: a stream
 * appended 1,024 events at a time is indexed a row at a time, while small rows still make groups
 * of INDEX_EVERY_ROWS.
 */
const GROUP_ROW_EVENTS = 16;

/**
 * Streams of consecutive ids whose first groups are filled in the same merge (see runFor): a
 * merge's groups then land on a few pages of chunk_groups rather than one page each.
 */
const STAGGER_BLOCK = 16;

/** Run.from of a run that is not all of its stream's tail: no head's `indexed_rev` matches it. */
const GAPPED = -1;

/** The rows this merger has written to a stream since its last group. */
interface Run {
  /**
   * Revision of the run's first row — the head's `indexed_rev` if the run is the whole tail — or
   * GAPPED once rows of another writer fell between the run's.
   */
  from: number;
  /** The revision after the run's last row. */
  next: number;
  readonly positions: number[];
  /** Events in the run's rows. */
  events: number;
  /** Rows at which the run becomes a group (or length × GROUP_ROW_EVENTS events, if sooner). */
  readonly length: number;
}

/** One stream's events in the commits being merged, in revision order: one part per append. */
interface StreamParts {
  readonly id: number;
  /** Revision of the first part's first event. */
  readonly first: number;
  readonly parts: Float64Array[];
  /** Each part's log position. */
  readonly positions: number[];
  events: number;
}

/** Commits being merged: their streams, written a slice at a time. */
interface MergeJob {
  /** merged_through when the job started: its commits are those after it. */
  readonly after: number;
  /** Position of the last commit in the job: merged_through once every stream is written. */
  readonly through: number;
  readonly streams: StreamParts[];
  /** Streams already written. */
  done: number;
  /** Streams per slice. */
  readonly slice: number;
}

export interface MergerOptions {
  readonly mergeCommits?: number;
  readonly indexEveryRows?: number;
}

export class StreamMerger {
  private readonly sql;
  private readonly mergeCommits: number;
  private readonly indexEveryRows: number;
  /** Per stream id, the rows written since its last group. */
  private readonly runs = new Map<number, Run>();
  private job: MergeJob | undefined;
  /** Commits this process made since its last merge started. */
  private commitsSince = 0;
  /**
   * This writer's latest commits, oldest first: a merge of exactly these reads them from here
   * instead of back from SQLite. Bounded; any others are read from SQLite.
   */
  private recent: StoredCommit[] = [];
  /** Position of the next row, during a slice. */
  private nextPosition = 0;
  private readonly sliceTransaction: (job: MergeJob) => void;
  private readonly indexAllTransaction: () => void;

  constructor(
    private readonly db: Database.Database,
    options: MergerOptions = {},
  ) {
    this.mergeCommits = options.mergeCommits ?? MERGE_COMMITS;
    this.indexEveryRows = options.indexEveryRows ?? INDEX_EVERY_ROWS;
    this.sql = {
      mergedThrough: db.prepare<[], number>("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'merged_through'").pluck(),
      // Never back: another process's merge may have gone further than this one.
      setMergedThrough: db.prepare<[{ through: number }]>(
        "UPDATE meta SET value = printf('%d', @through) WHERE key = 'merged_through' AND CAST(value AS INTEGER) < @through",
      ),
      commitsAfter: db.prepare<[number, number], { position: number; directory: string; events: Buffer | null }>(
        'SELECT position, directory, events FROM commits WHERE position > ? ORDER BY position LIMIT ?',
      ),
      positionsAfter: db.prepare<[number, number], number>('SELECT position FROM commits WHERE position > ? ORDER BY position LIMIT ?').pluck(),
      // Once merged, a commit's events are the rows' to read: its copy goes, its directory stays.
      dropEvents: db.prepare<[{ after: number; through: number }]>(
        'UPDATE commits SET events = NULL WHERE position > @after AND position <= @through AND events IS NOT NULL',
      ),
      head: db.prepare<[number], { merged_rev: number; last_position: number | null }>('SELECT merged_rev, last_position FROM heads WHERE stream_id = ?'),
      // The trigger checks both `prev` and first_rev against the head, so a row can only ever
      // extend its stream's rows.
      insertChunk: db.prepare<[number, number, number, number, Buffer, number | null, number]>(
        'INSERT INTO chunks (position, stream_id, first_rev, count, events, prev, log_position) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      lastPosition: db.prepare<[], number | null>('SELECT max(position) FROM chunks').pluck(),
      // Claims a run as the stream's whole tail: true (one change) only if the groups end where the
      // run starts and the rows where it ends (the run itself is contiguous).
      claimTail: db.prepare<[{ stream: number; from: number; next: number }]>(
        'UPDATE heads SET indexed_rev = @next WHERE stream_id = @stream AND indexed_rev = @from AND merged_rev = @next',
      ),
      insertGroup: db.prepare<[number, number, string]>('INSERT INTO chunk_groups (stream_id, first_rev, positions) VALUES (?, ?, ?)'),
      // Indexes a stream's tail, whoever wrote it, as one group: its chain walked from the head.
      groupTail: db.prepare<[{ stream: number }]>(
        `INSERT INTO chunk_groups (stream_id, first_rev, positions)
         WITH RECURSIVE chain(position, first_rev, prev) AS (
           SELECT c.position, c.first_rev, c.prev FROM heads h JOIN chunks c ON c.position = h.last_position
            WHERE h.stream_id = @stream AND c.first_rev >= h.indexed_rev
           UNION ALL
           SELECT c.position, c.first_rev, c.prev FROM chain JOIN chunks c ON c.position = chain.prev
            WHERE c.first_rev >= (SELECT indexed_rev FROM heads WHERE stream_id = @stream))
         SELECT @stream, min(first_rev), json_group_array(position ORDER BY first_rev) FROM chain HAVING count(*) > 0`,
      ),
      markIndexed: db.prepare<[number]>('UPDATE heads SET indexed_rev = merged_rev WHERE stream_id = ?'),
      streamsWithTails: db.prepare<[], number>('SELECT stream_id FROM heads WHERE indexed_rev < merged_rev').pluck(),
    };
    this.sliceTransaction = db.transaction(this.sliceInTransaction.bind(this)).immediate;
    this.indexAllTransaction = db.transaction(() => {
      for (const id of this.sql.streamsWithTails.all()) this.walkTail(id);
      this.runs.clear();
    }).immediate;
  }

  /** This process committed `commit`: a merge starts once `mergeCommits` have gathered. */
  committed(commit: StoredCommit): void {
    this.commitsSince++;
    this.recent.push(commit);
    if (this.recent.length > 4 * this.mergeCommits) this.recent.shift();
  }

  /** Writes one slice of the merge under way, or of a new one if enough commits have gathered. */
  step(): void {
    if (this.job === undefined) {
      if (this.commitsSince < this.mergeCommits) return;
      this.job = this.startJob(this.mergeCommits, this.mergeCommits);
      if (this.job === undefined) return;
    }
    this.writeSlice(this.job);
  }

  /** Merges every commit not yet merged: at start, when idle, and at a clean stop. */
  mergeAll(): void {
    for (;;) {
      const job = this.job ?? this.startJob(this.mergeCommits, 1);
      if (job === undefined) return;
      this.job = job;
      while (this.job === job) this.writeSlice(job);
    }
  }

  /**
   * Indexes every stream's tail: at start, for tails left by a crash or by other processes, and at
   * a clean stop, so that the next start's reads go straight to the index.
   */
  indexAllTails(): void {
    this.indexAllTransaction();
  }

  /** A job over up to `commits` of the oldest unmerged commits, written in `slices` slices. */
  private startJob(commits: number, slices: number): MergeJob | undefined {
    this.commitsSince = 0;
    const after = this.sql.mergedThrough.get()!;
    while (this.recent.length > 0 && this.recent[0]!.position <= after) this.recent.shift();
    const positions = this.sql.positionsAfter.all(after, commits);
    if (positions.length === 0) return undefined;
    const stored = positions.every((position, i) => this.recent[i]?.position === position)
      ? this.recent.slice(0, positions.length)
      : this.readCommits(after, commits);
    if (stored === undefined) return undefined;
    const byStream = new Map<number, StreamParts>();
    for (const { position, ids, firsts, counts, events } of stored) {
      let at = 0;
      for (let k = 0; k < ids.length; k++) {
        addPart(byStream, position, k, ids[k]!, firsts[k]!, events.subarray(at * EVENT_STRIDE, (at + counts[k]!) * EVENT_STRIDE));
        at += counts[k]!;
      }
    }
    const streams = [...byStream.values()];
    const through = positions[positions.length - 1]!;
    return { after, through, streams, done: 0, slice: Math.max(1, Math.ceil(streams.length / slices)) };
  }

  /**
   * Up to `commits` commits after `after`, read back from SQLite (others' commits, or this writer's
   * older than it remembers); undefined if another process merged one of them meanwhile.
   */
  private readCommits(after: number, commits: number): StoredCommit[] | undefined {
    const stored: StoredCommit[] = [];
    for (const commit of this.sql.commitsAfter.iterate(after, commits)) {
      // Merged (its events dropped) since merged_through was read: the job is someone else's now.
      if (commit.events === null) return undefined;
      const directory = readDirectory(commit.directory);
      stored.push({
        position: commit.position,
        ids: Int32Array.from(directory, ([id]) => id),
        firsts: Float64Array.from(directory, ([, first]) => first),
        counts: Int32Array.from(directory, ([, , count]) => count),
        events: fromBlob(commit.events),
      });
    }
    return stored;
  }

  private writeSlice(job: MergeJob): void {
    // The rows only copy what the commits hold durably: a merge lost to a power cut is merged again
    // (merged_rev and merged_through are lost with it), so its commit need not wait for the disk.
    // WAL keeps commits in order: the next commit's fsync makes this one durable too.
    this.db.pragma('synchronous = NORMAL');
    try {
      this.sliceTransaction(job);
    } catch (error) {
      // Rolled back: what this merger remembered of the slice's rows names positions that are not
      // theirs any more (another writer may fill them next). Start again from what is stored: each
      // stream's merged_rev says what is.
      this.job = undefined;
      this.runs.clear();
      throw error;
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    if (job.done === job.streams.length) this.job = undefined;
  }

  private sliceInTransaction(job: MergeJob): void {
    this.nextPosition = (this.sql.lastPosition.get() ?? 0) + 1;
    const end = Math.min(job.streams.length, job.done + job.slice);
    for (let s = job.done; s < end; s++) this.writeStream(job.streams[s]!);
    if (end === job.streams.length) {
      this.sql.setMergedThrough.run({ through: job.through });
      this.sql.dropEvents.run({ after: job.after, through: job.through });
    }
    job.done = end;
  }

  /** Writes the stream's events from its `merged_rev` on as rows of at most MAX_ROW_EVENTS. */
  private writeStream(stream: StreamParts): void {
    const head = this.sql.head.get(stream.id)!;
    const skip = head.merged_rev - stream.first;
    if (skip < 0) throw new Error(`stream ${stream.id}: its rows end at revision ${head.merged_rev}, the commits to merge start at ${stream.first}`);
    if (skip >= stream.events) return;
    const events = concatEvents(stream.parts, stream.events).subarray(skip * EVENT_STRIDE);
    const count = stream.events - skip;
    let prev = head.last_position;
    let run: Run | undefined;
    // The part holding each row's last event, for the row's log position: parts end at partEnd.
    let part = 0;
    let partEnd = stream.parts[0]!.length / EVENT_STRIDE - skip;
    for (let offset = 0; offset < count; offset += MAX_ROW_EVENTS) {
      const n = Math.min(count - offset, MAX_ROW_EVENTS);
      while (partEnd < offset + n) partEnd += stream.parts[++part]!.length / EVENT_STRIDE;
      const position = this.nextPosition++;
      const first = head.merged_rev + offset;
      const blob = toBlob(events.subarray(offset * EVENT_STRIDE, (offset + n) * EVENT_STRIDE));
      this.sql.insertChunk.run(position, stream.id, first, n, blob, prev, stream.positions[part]!);
      prev = position;
      run = this.extendRun(stream.id, run ?? this.runFor(stream.id, first), position, first, n);
    }
  }

  /** The stream's run, to take rows from revision `first` on. */
  private runFor(id: number, first: number): Run {
    const run = this.runs.get(id);
    if (run === undefined) {
      // A fleet's robots are merged together: were their first runs as long as the rest, every
      // stream would fill a group in the same merge, every indexEveryRows merges. Stretched by up
      // to a run, about 1/indexEveryRows of them fill one per merge — by blocks of consecutive
      // ids, whose groups share index pages, so a merge's groups dirty few of them.
      const stretch = Math.floor(id / STAGGER_BLOCK) % this.indexEveryRows;
      return this.newRun(id, first, this.indexEveryRows + stretch);
    }
    // Someone else's rows came between: the tail is walked when it is due. Only this merger's rows
    // count towards that, so k writers taking turns let a tail grow to about k groups' worth.
    if (run.next !== first) run.from = GAPPED;
    return run;
  }

  /**
   * Adds a row just written (`n` events from revision `rowFirst`, at `position`) to the run; once
   * the run is long enough, indexes it and returns the run that follows.
   */
  private extendRun(id: number, run: Run, position: number, rowFirst: number, n: number): Run {
    run.positions.push(position);
    run.events += n;
    run.next = rowFirst + n;
    if (run.positions.length < run.length && run.events < run.length * GROUP_ROW_EVENTS) return run;
    if (this.sql.claimTail.run({ stream: id, from: run.from, next: run.next }).changes === 1) {
      this.sql.insertGroup.run(id, run.from, JSON.stringify(run.positions));
    } else {
      this.walkTail(id);
    }
    return this.newRun(id, run.next, this.indexEveryRows);
  }

  /** A run from revision `from`, empty, in place of the stream's last. */
  private newRun(id: number, from: number, length: number): Run {
    const run: Run = { from, next: from, positions: [], events: 0, length };
    this.runs.set(id, run);
    return run;
  }

  private walkTail(id: number): void {
    this.sql.groupTail.run({ stream: id });
    this.sql.markIndexed.run(id);
  }
}

/** Adds append `k` of the commit at `position` (`part`: its events) to its stream's parts. */
function addPart(byStream: Map<number, StreamParts>, position: number, k: number, id: number, first: number, part: Float64Array): void {
  const count = part.length / EVENT_STRIDE;
  const stream = byStream.get(id);
  if (stream === undefined) {
    byStream.set(id, { id, first, parts: [part], positions: [position + k], events: count });
    return;
  }
  if (first !== stream.first + stream.events) throw new Error(`stream ${id}: commit ${position} continues at revision ${first}, not ${stream.first + stream.events}`);
  stream.parts.push(part);
  stream.positions.push(position + k);
  stream.events += count;
}
