// EventStoreDB's append decision: does a proposed batch get written, answered as an idempotent
// resend of events already in the stream, or refused as a wrong expected version?
//
// Mirrors the server's commit check: with a concrete expected revision (no_stream = -1) the batch
// is written when the stream is exactly there; when the stream is further on and its events right
// after the expected revision carry exactly the proposed ids, the batch is an idempotent resend.
// With `any` (and `stream_exists` on an existing stream) a batch whose first id is already in the
// stream is a resend when all ids follow in order. A partial match is a conflict, as the server
// reports "corrupted idempotency" as a wrong expected version.

export type ExpectedRevision = bigint | 'no_stream' | 'any' | 'stream_exists';

export type AppendDecision =
  | { readonly kind: 'write' }
  /** The proposed events are stream[from .. from + count - 1]. */
  | { readonly kind: 'idempotent'; readonly from: number }
  | { readonly kind: 'conflict' };

interface HasId {
  readonly id: string;
}

export function decideAppend(
  stream: readonly HasId[],
  expected: ExpectedRevision,
  proposedIds: readonly string[],
): AppendDecision {
  const length = stream.length;
  if (expected === 'any' || expected === 'stream_exists') {
    if (expected === 'stream_exists' && length === 0) return { kind: 'conflict' };
    const first = proposedIds[0];
    if (first === undefined) return { kind: 'write' };
    const from = stream.findIndex((event) => event.id === first);
    if (from === -1) return { kind: 'write' };
    return matchesAt(stream, from, proposedIds) ? { kind: 'idempotent', from } : { kind: 'conflict' };
  }
  const expectedLength = expected === 'no_stream' ? 0n : expected + 1n;
  if (BigInt(length) === expectedLength) return { kind: 'write' };
  if (BigInt(length) < expectedLength || proposedIds.length === 0) return { kind: 'conflict' };
  const from = Number(expectedLength);
  return matchesAt(stream, from, proposedIds) ? { kind: 'idempotent', from } : { kind: 'conflict' };
}

function matchesAt(stream: readonly HasId[], from: number, ids: readonly string[]): boolean {
  if (from + ids.length > stream.length) return false;
  return ids.every((id, i) => stream[from + i]!.id === id);
}
