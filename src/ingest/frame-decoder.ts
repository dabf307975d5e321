// Turns one received WebSocket message into the frame's text, or the status that answers the whole
// frame: binary, over the size limit, or not UTF-8 — the same checks, in the same order, with the
// same reasons wherever a frame is received (the service and the benchmark peers).

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

  constructor(private readonly maxFrameBytes: number) {
    this.tooLarge = new FrameRejection(errorReply(`frame exceeds ${maxFrameBytes} bytes`));
  }

  /** The frame's text; a FrameRejection (shared, never allocated per frame) when refused. */
  decode(message: ArrayBuffer | Uint8Array, isBinary: boolean): string | FrameRejection {
    if (isBinary) return BINARY;
    if (message.byteLength > this.maxFrameBytes) return this.tooLarge;
    try {
      return this.decoder.decode(message);
    } catch {
      return NOT_UTF8;
    }
  }
}
