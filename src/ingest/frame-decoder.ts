// Turns one received WebSocket message into the frame's text, or the status that answers the whole
// frame: binary, over the size limit, not UTF-8, or over the events limit — the same checks, in the
// same order, with the same reasons wherever a frame is received (the service and the benchmark peers).

import { errorReply } from '../domain/outcome.js';

/** A whole frame refused before any line is read; `status` is its one reply line. */
export class FrameRejection {
  constructor(readonly status: string) {}
}

const BINARY = new FrameRejection(errorReply('binary frames are not accepted; send text frames'));
const NOT_UTF8 = new FrameRejection(errorReply('frame is not valid UTF-8'));

export class FrameDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly tooLarge: FrameRejection;
  private readonly tooMany: FrameRejection;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly maxEventsPerFrame = Number.MAX_SAFE_INTEGER,
  ) {
    this.tooLarge = new FrameRejection(errorReply(`frame exceeds ${maxFrameBytes} bytes`));
    this.tooMany = new FrameRejection(errorReply(`frame exceeds ${maxEventsPerFrame} events`));
  }

  /**
   * The frame's text; a FrameRejection (shared, never allocated per frame) when refused. A frame of
   * too many lines is refused whole, with one reply line like the other refusals: nothing of it is
   * stored, and a 1 MiB frame of empty lines cannot make the server write back ~30 MiB of replies.
   */
  decode(message: ArrayBuffer | Uint8Array, isBinary: boolean): string | FrameRejection {
    if (isBinary) return BINARY;
    if (message.byteLength > this.maxFrameBytes) return this.tooLarge;
    let text: string;
    try {
      text = this.decoder.decode(message);
    } catch {
      return NOT_UTF8;
    }
    return exceedsLines(text, this.maxEventsPerFrame) ? this.tooMany : text;
  }
}

/** True when `text` holds more than `max` lines, counted as forEachLine counts them; stops early. */
export function exceedsLines(text: string, max: number): boolean {
  // forEachLine's count is the number of '\n' plus one, less one when the text ends with '\n'.
  const ending = text.length > 0 && text.charCodeAt(text.length - 1) === 10 ? 1 : 0;
  let lines = 1 - ending;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) {
    if (++lines > max) return true;
  }
  return false;
}
