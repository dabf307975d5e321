// Counts the service's replies by outcome for `npm run replay`: OK, DUP, STALE, and ERR by reason
// with the first line that earned it. A frame's reply has one status per event; a frame refused as
// a whole (too large, server shutting down before parsing) is answered by one `ERR …`, which then
// stands for every event in the frame.

import type { Frame } from './frames.js';

export interface ErrorCount {
  readonly reason: string;
  count: number;
  readonly firstLine: number;
}

export class ReplyTally {
  ok = 0;
  dup = 0;
  stale = 0;
  err = 0;
  answeredEvents = 0;
  answeredFrames = 0;
  answeredBytes = 0;
  readonly errors = new Map<string, ErrorCount>();
  /** `OK\nOK…` by event count: an all-OK reply, the common case, is recognised by one comparison. */
  private readonly allOk = new Map<number, string>();

  add(frame: Frame, reply: string): void {
    this.answeredFrames++;
    this.answeredEvents += frame.events;
    this.answeredBytes += frame.inputBytes;
    if (reply === this.allOkFor(frame.events)) {
      this.ok += frame.events;
      return;
    }
    const statuses = reply.split('\n');
    if (statuses.length === frame.events) {
      for (let i = 0; i < statuses.length; i++) this.count(statuses[i]!, frame.lineNumbers[i]!, 1);
    } else if (statuses.length === 1 && statuses[0]!.startsWith('ERR ')) {
      this.count(statuses[0]!, frame.lineNumbers[0]!, frame.events);
    } else {
      this.error(`reply had ${statuses.length} statuses for ${frame.events} events`, frame.lineNumbers[0]!, frame.events);
    }
  }

  /** Events that could not be sent or answered (a line not in UTF-8, a lost connection). */
  error(reason: string, line: number, events: number): void {
    this.err += events;
    const known = this.errors.get(reason);
    if (known === undefined) this.errors.set(reason, { reason, count: events, firstLine: line });
    else known.count += events;
  }

  private count(status: string, line: number, events: number): void {
    const bare = status.endsWith('\r') ? status.slice(0, -1) : status;
    if (bare === 'OK') this.ok += events;
    else if (bare === 'DUP') this.dup += events;
    else if (bare === 'STALE') this.stale += events;
    else if (bare.startsWith('ERR ')) this.error(bare.slice(4), line, events);
    else this.error(`unexpected status ${JSON.stringify(bare)}`, line, events);
  }

  private allOkFor(events: number): string {
    let reply = this.allOk.get(events);
    if (reply === undefined) {
      reply = 'OK\n'.repeat(events).slice(0, -1);
      this.allOk.set(events, reply);
    }
    return reply;
  }
}
