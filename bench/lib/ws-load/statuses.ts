// Counting the statuses in reply frames without a string per line: a reply made only of `OK` lines
// is recognised by one byte comparison against a prepared `OK\nOK…`, other replies are walked byte
// by byte; only an `ERR …` line (rare, and the only one whose text varies) becomes a string.

const NL = 0x0a;
const CR = 0x0d;

/** `OK` repeated `count` times, joined by `\n`: the reply to a frame of `count` stored events. */
export function allOkReply(count: number): Buffer {
  return Buffer.from(Array.from({ length: count }, () => 'OK').join('\n'), 'latin1');
}

export interface StatusCounts {
  ok: number;
  dup: number;
  stale: number;
  /** Everything else by its full line (`ERR …`, or anything unexpected). */
  readonly other: Map<string, number>;
}

export function newStatusCounts(): StatusCounts {
  return { ok: 0, dup: 0, stale: 0, other: new Map() };
}

export class StatusCounter {
  readonly counts: StatusCounts = newStatusCounts();

  constructor(private readonly allOk: Buffer) {}

  /** Counts the statuses of one reply `data[start, end)`; returns how many it held. */
  count(data: Buffer, start: number, end: number): number {
    const allOk = this.allOk;
    if (end - start === allOk.length && data.compare(allOk, 0, allOk.length, start, end) === 0) {
      const n = (allOk.length + 1) / 3;
      this.counts.ok += n;
      return n;
    }
    let lines = 0;
    let lineStart = start;
    for (let i = start; i <= end; i++) {
      if (i < end && data[i] !== NL) continue;
      this.line(data, lineStart, i > lineStart && data[i - 1] === CR ? i - 1 : i);
      lines++;
      lineStart = i + 1;
    }
    return lines;
  }

  private line(data: Buffer, start: number, end: number): void {
    const length = end - start;
    const c0 = data[start];
    if (length === 2 && c0 === 0x4f /* O */ && data[start + 1] === 0x4b /* K */) this.counts.ok++;
    else if (length === 3 && c0 === 0x44 /* D */ && data[start + 1] === 0x55 && data[start + 2] === 0x50) this.counts.dup++;
    else if (length === 5 && c0 === 0x53 /* S */ && data[start + 1] === 0x54 && data[start + 2] === 0x41 && data[start + 3] === 0x4c && data[start + 4] === 0x45) this.counts.stale++;
    else {
      const text = data.toString('utf8', start, end);
      this.counts.other.set(text, (this.counts.other.get(text) ?? 0) + 1);
    }
  }
}

/** Adds `from` into `into`. */
export function addStatusCounts(into: StatusCounts, from: { ok: number; dup: number; stale: number; other: Iterable<[string, number]> }): void {
  into.ok += from.ok;
  into.dup += from.dup;
  into.stale += from.stale;
  for (const [status, n] of from.other) into.other.set(status, (into.other.get(status) ?? 0) + n);
}

/** The report's `outcomes`: only the statuses that occurred. */
export function outcomesOf(counts: StatusCounts): Record<string, number> {
  const outcomes: Record<string, number> = {};
  if (counts.ok > 0) outcomes.OK = counts.ok;
  if (counts.dup > 0) outcomes.DUP = counts.dup;
  if (counts.stale > 0) outcomes.STALE = counts.stale;
  for (const [status, n] of counts.other) outcomes[status] = n;
  return outcomes;
}
