// Turns one received WebSocket message into its reply: whole-frame refusals (binary, too large,
// not UTF-8), then each line parsed, malformed lines answered at once and valid events routed to
// their robots' actors. Independent of the WebSocket library, so the service (uWebSockets.js) and
// the `ws` peer of the benchmark run exactly the same code.

import type { Router } from '../actors/router.js';
import { allowsRobot, type WriteAccess } from '../auth/scope.js';
import { ERR_BUSY, ERR_FORBIDDEN_ROBOT, ERR_RATE_LIMITED, ERR_SHUTTING_DOWN, errorReply } from '../domain/outcome.js';
import { EventReader } from '../domain/robot-names.js';
import { forEachLineAt } from '../domain/wire-format.js';
import { FrameDecoder, FrameRejection } from './frame-decoder.js';
import type { ConnectionReplies } from './frame-reply.js';
import type { TokenBucket } from '../domain/token-bucket.js';

export class FrameHandler {
  private readonly decoder: FrameDecoder;
  private readonly reader = new EventReader();
  /** `ERR <reason>` per reason: the reasons are a fixed set, so a bad line allocates no string. */
  private readonly errorReplies = new Map<string, string>();
  /** Once set, frames are still answered, every line with `ERR shutting down`. */
  draining = false;

  constructor(
    private readonly router: Router,
    maxFrameBytes: number,
    maxEventsPerFrame?: number,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes, maxEventsPerFrame);
  }

  /**
   * `access` is the connection's write scope: null writes any robot (fleet token, or no
   * authentication); otherwise an event for a robot outside it is answered `ERR forbidden robot`.
   * `rate` is the connection's bucket (null: no limit): every line draws one token, well-formed or
   * not — parsing costs too — and a line over the rate is answered `ERR rate limited`, unread.
   */
  handle(
    replies: ConnectionReplies,
    message: ArrayBuffer | Uint8Array,
    isBinary: boolean,
    access: WriteAccess = null,
    rate: TokenBucket | null = null,
  ): void {
    const frame = replies.open();
    const text = this.decoder.decode(message, isBinary);
    if (text instanceof FrameRejection) {
      frame.answer(0, text.status);
      frame.seal(1);
      return;
    }
    if (this.draining) {
      frame.seal(forEachLineAt(text, (_start, _end, slot) => frame.answer(slot, ERR_SHUTTING_DOWN)));
      return;
    }
    const { reader, router } = this;
    const { fields } = reader;
    if (rate !== null) rate.refill(performance.now());
    const lines = forEachLineAt(text, (start, end, slot) => {
      if (rate !== null && !rate.take()) {
        frame.answer(slot, ERR_RATE_LIMITED);
        return;
      }
      const reason = reader.read(text, start, end);
      if (reason !== null) {
        frame.answer(slot, this.errorReplyFor(reason));
        return;
      }
      const robot = reader.robot;
      if (access !== null && !allowsRobot(access, robot)) {
        frame.answer(slot, ERR_FORBIDDEN_ROBOT);
        return;
      }
      frame.expect();
      // A full mailbox settles the slot here: not queued, so the frame does not wait on it.
      if (!router.route(robot, fields.event, frame, slot)) frame.settle(slot, ERR_BUSY);
    });
    frame.seal(lines);
  }

  private errorReplyFor(reason: string): string {
    let reply = this.errorReplies.get(reason);
    if (reply === undefined) {
      reply = errorReply(reason);
      this.errorReplies.set(reason, reply);
    }
    return reply;
  }
}
