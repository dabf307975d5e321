// StoredEvent → ReadResp messages, as EventStoreDB fills them: the recorded event with its id in
// the requested UUID form, stream, revision, positions and the `type` / `content-type` /
// `created` metadata entries; the enclosing ReadEvent carries the $all commit position when the
// read goes through $all, and `no_position` for stream reads (the server reads those from its
// stream index, which does not know $all positions).

import { empty, streamIdentifier, streamsPb, type ReadOptions, type ReadResp } from './protocol.js';
import type { StoredEvent } from './state.js';
import { uuidMessage } from './uuid.js';

export interface EventEncoding {
  /** Ids as structured UUIDs (the request's uuid_option) rather than strings. */
  readonly structuredIds: boolean;
  /** Set the ReadEvent's commit_position ($all reads and subscriptions). */
  readonly withPosition: boolean;
}

export function encodingFor(options: ReadOptions, withPosition: boolean): EventEncoding {
  const structuredIds = options.getUuidOption()?.hasStructured() ?? false;
  return { structuredIds, withPosition };
}

export function eventResponse(event: StoredEvent, encoding: EventEncoding): ReadResp {
  const position = event.position.toString(10);
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent()
    .setId(uuidMessage(event.id, encoding.structuredIds))
    .setStreamIdentifier(streamIdentifier(event.streamName))
    .setStreamRevision(event.revision.toString(10))
    .setPreparePosition(position)
    .setCommitPosition(position)
    .setData(event.data)
    .setCustomMetadata(event.customMetadata);
  const metadata = recorded.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('content-type', event.contentType);
  metadata.set('created', event.created.toString(10));
  const readEvent = new streamsPb.ReadResp.ReadEvent().setEvent(recorded);
  if (encoding.withPosition) readEvent.setCommitPosition(position);
  else readEvent.setNoPosition(empty());
  return new streamsPb.ReadResp().setEvent(readEvent);
}

export function streamNotFoundResponse(streamName: string): ReadResp {
  const notFound = new streamsPb.ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(streamName));
  return new streamsPb.ReadResp().setStreamNotFound(notFound);
}

export function confirmationResponse(subscriptionId: string): ReadResp {
  const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation().setSubscriptionId(subscriptionId);
  return new streamsPb.ReadResp().setConfirmation(confirmation);
}

export function caughtUpResponse(): ReadResp {
  return new streamsPb.ReadResp().setCaughtUp(new streamsPb.ReadResp.CaughtUp());
}

export function checkpointResponse(position: bigint): ReadResp {
  const text = position.toString(10);
  const checkpoint = new streamsPb.ReadResp.Checkpoint().setCommitPosition(text).setPreparePosition(text);
  return new streamsPb.ReadResp().setCheckpoint(checkpoint);
}
