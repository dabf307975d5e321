// Event ids on the wire: a shared.UUID is either a canonical string or "structured", two signed
// 64-bit halves (most significant first, big-endian byte order of the canonical form) carried as
// decimal strings (jstype = JS_STRING). The log keeps ids as lower-case canonical strings.

import { sharedPb, type Uuid } from './protocol.js';

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The canonical lower-case form of a proposed event id, or undefined when it is not a UUID. */
export function uuidToString(uuid: Uuid | undefined): string | undefined {
  if (uuid === undefined) return undefined;
  if (uuid.hasStructured()) {
    const structured = uuid.getStructured()!;
    const hex =
      toHex64(BigInt(structured.getMostSignificantBits())) + toHex64(BigInt(structured.getLeastSignificantBits()));
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const text = uuid.getString().toLowerCase();
  return CANONICAL.test(text) ? text : undefined;
}

/** A shared.UUID for a canonical id, in the form the read request asked for. */
export function uuidMessage(id: string, structured: boolean): Uuid {
  const uuid = new sharedPb.UUID();
  if (!structured) return uuid.setString(id);
  const hex = id.replace(/-/g, '');
  const halves = new sharedPb.UUID.Structured()
    .setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString(10))
    .setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString(10));
  return uuid.setStructured(halves);
}

function toHex64(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16).padStart(16, '0');
}
