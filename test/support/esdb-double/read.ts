// Streams.Read without `subscription`: a bounded read of one stream or of $all, answered from a
// snapshot of the log taken when the request arrives.
//
// Start points, as EventStoreDB treats them for reads (subscriptions differ, see subscription.ts):
//  - stream forwards from revision r: revisions >= r; backwards from r: revisions <= r;
//    `end` backwards starts at the last event, `end` forwards reads nothing.
//  - $all forwards from position p: events at positions >= p (inclusive);
//    backwards from p: events at positions < p (the log is read backwards from that offset);
//    `end` backwards starts at the last event, `start` backwards reads nothing.
// An unknown stream is answered with `stream_not_found` (the client throws StreamNotFoundError).

import { status } from '@grpc/grpc-js';
import { filterOf } from './filter.js';
import { streamNameOf, streamsPb, type ReadOptions } from './protocol.js';
import { encodingFor, eventResponse, streamNotFoundResponse } from './recorded-event.js';
import type { ResponseWriter } from './response-writer.js';
import type { MemoryLog, StoredEvent } from './state.js';

const { ReadDirection, StreamOptions, AllOptions } = streamsPb.ReadReq.Options;

export async function serveRead(log: MemoryLog, options: ReadOptions, writer: ResponseWriter): Promise<void> {
  const maxCount = countOf(options);
  const backwards = options.getReadDirection() === ReadDirection.BACKWARDS;
  let selected: StoredEvent[];
  let withPosition: boolean;

  if (options.hasStream()) {
    const streamOptions = options.getStream()!;
    const name = streamNameOf(streamOptions.getStreamIdentifier());
    if (name === undefined) return writer.fail(status.INVALID_ARGUMENT, 'stream read without a stream identifier');
    const events = log.stream(name);
    if (events.length === 0) {
      await writer.write(streamNotFoundResponse(name));
      return writer.end();
    }
    const last = events.length - 1;
    let from: number;
    switch (streamOptions.getRevisionOptionCase()) {
      case StreamOptions.RevisionOptionCase.START:
        from = 0;
        break;
      case StreamOptions.RevisionOptionCase.END:
        from = backwards ? last : events.length;
        break;
      case StreamOptions.RevisionOptionCase.REVISION: {
        const revision = BigInt(streamOptions.getRevision());
        from = revision > BigInt(last) ? (backwards ? last : events.length) : Number(revision);
        break;
      }
      default:
        return writer.fail(status.INVALID_ARGUMENT, 'stream read without a start revision');
    }
    selected = take(events, from, backwards, maxCount, undefined);
    withPosition = false;
  } else if (options.hasAll()) {
    const allOptions = options.getAll()!;
    const events = log.events;
    let from: number;
    switch (allOptions.getAllOptionCase()) {
      case AllOptions.AllOptionCase.START:
        from = backwards ? -1 : 0;
        break;
      case AllOptions.AllOptionCase.END:
        from = backwards ? events.length - 1 : events.length;
        break;
      case AllOptions.AllOptionCase.POSITION: {
        const position = BigInt(allOptions.getPosition()!.getCommitPosition());
        const atOrAfter = log.indexFrom(position, false);
        from = backwards ? atOrAfter - 1 : atOrAfter;
        break;
      }
      default:
        return writer.fail(status.INVALID_ARGUMENT, '$all read without a start position');
    }
    let filter;
    try {
      filter = filterOf(options);
    } catch (error) {
      return writer.fail(status.INVALID_ARGUMENT, `invalid filter: ${(error as Error).message}`);
    }
    selected = take(events, from, backwards, maxCount, filter?.matches);
    withPosition = true;
  } else {
    return writer.fail(status.INVALID_ARGUMENT, 'read without stream or $all options');
  }

  const encoding = encodingFor(options, withPosition);
  for (const event of selected) {
    if (!writer.open) return;
    const pending = writer.write(eventResponse(event, encoding));
    if (pending !== undefined) await pending;
  }
  writer.end();
}

function countOf(options: ReadOptions): number {
  const count = BigInt(options.getCount() || '0');
  return count > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(count);
}

/** Up to `maxCount` (matching) events from index `from`, walking in the read direction. */
function take(
  events: readonly StoredEvent[],
  from: number,
  backwards: boolean,
  maxCount: number,
  matches: ((event: StoredEvent) => boolean) | undefined,
): StoredEvent[] {
  const out: StoredEvent[] = [];
  const step = backwards ? -1 : 1;
  for (let i = from; i >= 0 && i < events.length && out.length < maxCount; i += step) {
    const event = events[i]!;
    if (matches === undefined || matches(event)) out.push(event);
  }
  return out;
}
