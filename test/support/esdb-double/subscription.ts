// Streams.Read with `subscription`: a catch-up subscription to one stream or to $all.
//
// The subscription is a cursor into a live view of the log. It sends `confirmation`, then every
// event after its start point, then `caught_up` the first time the cursor reaches the end of the
// log, then each event as it is appended, until the client cancels or the server drops the call.
// Appends only wake the pump; the pump reads the log itself, so catch-up and live delivery can
// neither skip nor repeat an event, and a slow client holds back only its own cursor.
//
// Start points are exclusive, as in EventStoreDB: from revision r the first event sent is r + 1;
// from position p, the first event after p. `end` starts with the next appended event.
// Filtered $all subscriptions also send `checkpoint` (position of the last event looked at) each
// time the filter's checkpoint interval of events has been scanned.

import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { filterOf, type EventFilter } from './filter.js';
import { streamNameOf, streamsPb, type ReadOptions } from './protocol.js';
import {
  caughtUpResponse,
  checkpointResponse,
  confirmationResponse,
  encodingFor,
  eventResponse,
  type EventEncoding,
} from './recorded-event.js';
import type { ResponseWriter } from './response-writer.js';
import type { MemoryLog, StoredEvent } from './state.js';

const { StreamOptions, AllOptions } = streamsPb.ReadReq.Options;

interface Source {
  readonly events: () => readonly StoredEvent[];
  /** Whether an append to this stream can concern the subscription. */
  readonly concerns: (streamName: string) => boolean;
  readonly start: number;
  readonly filter: EventFilter | undefined;
  readonly withPosition: boolean;
}

export class Subscription {
  readonly id = randomUUID();
  private cursor: number;
  private caughtUp = false;
  private pumping = false;
  private scanned = 0;
  private readonly encoding: EventEncoding;
  private unlisten: (() => void) | undefined;
  private onDetach: () => void = () => undefined;

  private constructor(
    private readonly source: Source,
    private readonly writer: ResponseWriter,
    options: ReadOptions,
  ) {
    this.cursor = source.start;
    this.encoding = encodingFor(options, source.withPosition);
  }

  /**
   * Starts serving the subscription; `onDetach` runs once it is over (client cancelled, call
   * dropped, or `detach()`). Undefined, and the call failed, when the request is invalid.
   */
  static open(
    log: MemoryLog,
    options: ReadOptions,
    writer: ResponseWriter,
    onDetach: (subscription: Subscription) => void,
  ): Subscription | undefined {
    let source: Source | string;
    try {
      source = sourceOf(log, options);
    } catch (error) {
      source = `invalid filter: ${(error as Error).message}`;
    }
    if (typeof source === 'string') {
      writer.fail(status.INVALID_ARGUMENT, source);
      return undefined;
    }
    const subscription = new Subscription(source, writer, options);
    subscription.onDetach = () => onDetach(subscription);
    subscription.unlisten = log.onAppend((streamName) => {
      if (source.concerns(streamName)) subscription.wake();
    });
    writer.onClose(() => subscription.detach());
    void writer.write(confirmationResponse(subscription.id));
    subscription.wake();
    return subscription;
  }

  /** False once the subscription is over. */
  get active(): boolean {
    return this.unlisten !== undefined;
  }

  /** Stops following the log without ending the call (the call is being dropped). */
  detach(): void {
    if (this.unlisten === undefined) return;
    this.unlisten();
    this.unlisten = undefined;
    this.onDetach();
  }

  private wake(): void {
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      const { filter } = this.source;
      while (this.writer.open) {
        const events = this.source.events();
        const event = events[this.cursor];
        if (event === undefined) {
          if (this.caughtUp) return;
          this.caughtUp = true;
          await this.writer.write(caughtUpResponse());
          continue;
        }
        this.cursor++;
        if (filter === undefined || filter.matches(event)) {
          const pending = this.writer.write(eventResponse(event, this.encoding));
          if (pending !== undefined) await pending;
        }
        if (filter !== undefined && ++this.scanned % filter.checkpointInterval === 0) {
          await this.writer.write(checkpointResponse(event.position));
        }
      }
    } finally {
      this.pumping = false;
    }
  }
}

function sourceOf(log: MemoryLog, options: ReadOptions): Source | string {
  if (options.hasStream()) {
    const streamOptions = options.getStream()!;
    const name = streamNameOf(streamOptions.getStreamIdentifier());
    if (name === undefined) return 'stream subscription without a stream identifier';
    const length = log.stream(name).length;
    let start: number;
    switch (streamOptions.getRevisionOptionCase()) {
      case StreamOptions.RevisionOptionCase.START:
        start = 0;
        break;
      case StreamOptions.RevisionOptionCase.END:
        start = length;
        break;
      case StreamOptions.RevisionOptionCase.REVISION:
        start = Number(BigInt(streamOptions.getRevision()) + 1n);
        break;
      default:
        return 'stream subscription without a start revision';
    }
    return {
      events: () => log.stream(name),
      concerns: (streamName) => streamName === name,
      start,
      filter: undefined,
      withPosition: false,
    };
  }
  if (options.hasAll()) {
    const allOptions = options.getAll()!;
    let start: number;
    switch (allOptions.getAllOptionCase()) {
      case AllOptions.AllOptionCase.START:
        start = 0;
        break;
      case AllOptions.AllOptionCase.END:
        start = log.events.length;
        break;
      case AllOptions.AllOptionCase.POSITION:
        start = log.indexFrom(BigInt(allOptions.getPosition()!.getCommitPosition()), true);
        break;
      default:
        return '$all subscription without a start position';
    }
    return {
      events: () => log.events,
      concerns: () => true,
      start,
      filter: filterOf(options),
      withPosition: true,
    };
  }
  return 'subscription without stream or $all options';
}
