// Deterministic event ids: UUID v5 (RFC 9562, SHA-1) of (robot, timestamp). A robot has at most one
// event per millisecond, so a resend of an event carries the same id and EventStoreDB's own
// idempotency check recognises it even when our expected revision did not.

import { createHash } from 'node:crypto';

// A fixed namespace for this service's location events (a random v4 UUID, chosen once).
const NAMESPACE = Buffer.from('6f1c1f3e9a0b4c55b2a5d7f0c3e8a914', 'hex');

export function locationEventId(robot: string, timestamp: number): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${timestamp}\u0000${robot}`, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
