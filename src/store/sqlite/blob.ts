// Conversion between packed event blocks and the bytes SQLite stores.

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
