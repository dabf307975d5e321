// The double's in-memory log: one global ordered list of events ($all) and an index from stream
// name to that stream's events. Appends are synchronous and atomic, so every reader and
// subscription (all in this one thread) sees a batch either wholly or not at all.

import { decideAppend, type ExpectedRevision } from './expected-revision.js';

export interface StoredEvent {
  readonly streamName: string;
  /** Revision within the stream, counting from 0. */
  readonly revision: bigint;
  /** Lower-case canonical UUID. */
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  /** 100 ns ticks since the Unix epoch, as EventStoreDB's `created` metadata. */
  readonly created: bigint;
  /** Commit position = prepare position in $all; strictly increasing. */
  readonly position: bigint;
}

export interface ProposedEvent {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
}

export type AppendResult =
  | {
      readonly kind: 'success';
      /** False for an idempotent resend or an empty batch. */
      readonly written: boolean;
      /** Revision of the last event of the batch (or the stream head); undefined: no stream. */
      readonly currentRevision: bigint | undefined;
      /** Position of the last event of the batch; undefined when the batch was empty. */
      readonly position: bigint | undefined;
    }
  | {
      readonly kind: 'wrong_expected_version';
      /** The stream head; undefined: no stream. */
      readonly currentRevision: bigint | undefined;
      readonly expected: ExpectedRevision;
    };

/** Called after every batch that wrote events, with the stream it went to. */
export type AppendListener = (streamName: string) => void;

// Positions behave like byte offsets in a transaction file: they start past a pretend header
// (so 0 is "before everything"), and each record advances them by its size.
const FIRST_POSITION = 4096n;
const RECORD_OVERHEAD = 96;
const NO_EVENTS: readonly StoredEvent[] = Object.freeze([]);

export class MemoryLog {
  private readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly listeners = new Set<AppendListener>();
  private nextPosition = FIRST_POSITION;

  /** Every event in commit order. A live view: it grows as events are appended. */
  get events(): readonly StoredEvent[] {
    return this.all;
  }

  /** One stream's events in revision order (a live view; empty when the stream does not exist). */
  stream(name: string): readonly StoredEvent[] {
    return this.streams.get(name) ?? NO_EVENTS;
  }

  streamNames(): string[] {
    return [...this.streams.keys()];
  }

  append(streamName: string, expected: ExpectedRevision, proposed: readonly ProposedEvent[], now = Date.now()): AppendResult {
    const stream = this.streams.get(streamName) ?? [];
    const head = stream.length === 0 ? undefined : BigInt(stream.length - 1);
    const decision = decideAppend(
      stream,
      expected,
      proposed.map((event) => event.id),
    );
    if (decision.kind === 'conflict') {
      return { kind: 'wrong_expected_version', currentRevision: head, expected };
    }
    if (decision.kind === 'idempotent') {
      const last = stream[decision.from + proposed.length - 1]!;
      return { kind: 'success', written: false, currentRevision: last.revision, position: last.position };
    }
    if (proposed.length === 0) {
      return { kind: 'success', written: false, currentRevision: head, position: undefined };
    }
    const created = BigInt(now) * 10_000n;
    let last: StoredEvent | undefined;
    for (const event of proposed) {
      last = {
        streamName,
        revision: BigInt(stream.length),
        id: event.id,
        type: event.type,
        contentType: event.contentType,
        data: Uint8Array.from(event.data),
        customMetadata: Uint8Array.from(event.customMetadata),
        created,
        position: this.nextPosition,
      };
      this.nextPosition += BigInt(recordSize(last));
      stream.push(last);
      this.all.push(last);
    }
    this.streams.set(streamName, stream);
    for (const listener of [...this.listeners]) listener(streamName);
    return { kind: 'success', written: true, currentRevision: last!.revision, position: last!.position };
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Index in `events` of the first event whose position is >= `position` (or > when `exclusive`). */
  indexFrom(position: bigint, exclusive: boolean): number {
    let low = 0;
    let high = this.all.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const at = this.all[mid]!.position;
      if (at < position || (exclusive && at === position)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

function recordSize(event: StoredEvent): number {
  return (
    RECORD_OVERHEAD +
    Buffer.byteLength(event.streamName) +
    Buffer.byteLength(event.type) +
    Buffer.byteLength(event.contentType) +
    event.data.length +
    event.customMetadata.length
  );
}
