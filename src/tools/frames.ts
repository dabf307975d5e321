// Cuts a stream of wire-format lines (a file, stdin) into WebSocket frames for `npm run replay`:
// at most `maxEvents` lines and `maxBytes` bytes per frame, so frames stay under the service's
// frame limit. Reads chunk by chunk as the sender pulls frames, so a file of any size is replayed
// in bounded memory. Blank lines are not events and are skipped (counted, not sent); every other
// line is sent as it is, so the service judges it, and remembers its line number for the summary
// — except a line that is not UTF-8, which cannot go in a text frame and is counted instead. The
// header a CSV export starts with (`x,y,timestamp,robot_name`) is skipped, so exports replay as they are.

import { isUtf8 } from 'node:buffer';
import { WIRE_FIELDS } from '../domain/wire-format.js';

const NL = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const HEADER = Buffer.from(WIRE_FIELDS);

export interface Frame {
  /** The lines joined by '\n': what goes on the wire. */
  readonly text: string;
  /** Events (lines) in the frame. */
  readonly events: number;
  /** 1-based line number in the input of each event, for pointing at rejected lines. */
  readonly lineNumbers: readonly number[];
  /** Input bytes this frame accounts for (its lines, their newlines, blank lines skipped before them). */
  readonly inputBytes: number;
}

export interface FrameLimits {
  readonly maxEvents: number;
  /** Lines are added while the frame stays within this many bytes; a longer line goes alone. */
  readonly maxBytes: number;
}

export interface FrameStats {
  blankLines: number;
  /** Whether the first line was a CSV export's header (skipped, not sent). */
  header: boolean;
  /** Lines that are not UTF-8: not sent, since the service closes a connection on such a frame. */
  notUtf8: number;
  firstNotUtf8Line: number;
}

export function newFrameStats(): FrameStats {
  return { blankLines: 0, header: false, notUtf8: 0, firstNotUtf8Line: 0 };
}

export async function* readFrames(input: AsyncIterable<Buffer | string>, limits: FrameLimits, stats: FrameStats): AsyncGenerator<Frame> {
  let lines: string[] = [];
  let lineNumbers: number[] = [];
  let frameBytes = 0; // bytes on the wire: lines plus '\n' separators
  let inputBytes = 0;
  let lineNumber = 0;
  let first = true;
  let pending: Buffer[] = []; // a line split across chunks

  const cut = (): Frame => {
    const frame: Frame = { text: lines.join('\n'), events: lines.length, lineNumbers, inputBytes };
    lines = [];
    lineNumbers = [];
    frameBytes = 0;
    inputBytes = 0;
    return frame;
  };

  // Adds the line buf[start, end) (without its '\n'). When the line would push the frame past
  // maxBytes, the frame so far is cut first and returned, to be sent before the one this line starts.
  const add = (buf: Buffer, start: number, end: number, newline: number): Frame | null => {
    lineNumber++;
    const length = end - start;
    if (length === 0 || (length === 1 && buf[start] === CR)) {
      stats.blankLines++;
      inputBytes += length + newline;
      return null;
    }
    const content = buf[end - 1] === CR ? end - 1 : end;
    if (lineNumber === 1 && buf.subarray(start, content).equals(HEADER)) {
      stats.header = true;
      inputBytes += length + newline;
      return null;
    }
    if (!isUtf8(buf.subarray(start, end))) {
      if (stats.notUtf8++ === 0) stats.firstNotUtf8Line = lineNumber;
      inputBytes += length + newline;
      return null;
    }
    let full: Frame | null = null;
    const wireBytes = frameBytes + (lines.length > 0 ? 1 : 0) + length;
    if (lines.length > 0 && wireBytes > limits.maxBytes) full = cut();
    frameBytes += (lines.length > 0 ? 1 : 0) + length;
    inputBytes += length + newline;
    lines.push(buf.toString('utf8', start, end));
    lineNumbers.push(lineNumber);
    return full;
  };

  for await (const piece of input) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (first && chunk.length > 0) {
      // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first event.
      if (chunk.length >= 3 && chunk.subarray(0, 3).equals(BOM)) {
        chunk = chunk.subarray(3);
        inputBytes += 3;
      }
      first = false;
    }
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      let full: Frame | null;
      if (pending.length > 0) {
        pending.push(chunk.subarray(start, nl));
        const line = Buffer.concat(pending);
        pending = [];
        full = add(line, 0, line.length, 1);
      } else {
        full = add(chunk, start, nl, 1);
      }
      if (full !== null) yield full;
      if (lines.length >= limits.maxEvents) yield cut();
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) {
    const line = Buffer.concat(pending);
    const full = add(line, 0, line.length, 0);
    if (full !== null) yield full;
  }
  if (lines.length > 0) yield cut();
}
