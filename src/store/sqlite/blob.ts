// Conversion between packed event blocks and the bytes SQLite stores, and joining blocks.

import { EVENT_STRIDE } from '../../domain/location.js';

/** A view of the block's bytes; no copy. */
export function toBlob(events: Float64Array): Buffer {
  return Buffer.from(events.buffer, events.byteOffset, events.byteLength);
}

/** Copies blob bytes into a fresh, aligned Float64Array (SQLite's buffers are not 8-byte aligned). */
export function fromBlob(blob: Uint8Array): Float64Array {
  const events = new Float64Array(blob.byteLength / 8);
  new Uint8Array(events.buffer).set(blob);
  return events;
}

/** The blocks one after another (`events` of them in all): the block itself when there is one. */
export function concatEvents(parts: readonly Float64Array[], events: number): Float64Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float64Array(events * EVENT_STRIDE);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
