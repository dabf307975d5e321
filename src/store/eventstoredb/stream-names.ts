// Robot names ↔ EventStoreDB stream names: `robot-<percent-encoded name>`.
//
// Percent-encoding keeps every valid robot name (spaces, non-ASCII, '$', '/', '-') inside a plain
// ASCII stream name that cannot start with '$' (system streams) and always has the `robot-` prefix
// that the $all subscription filters on; decoding gives the exact name back.

export const STREAM_PREFIX = 'robot-';

export function toStreamName(robot: string): string {
  return STREAM_PREFIX + encodeURIComponent(robot);
}

/** The robot of a stream, or null for streams that are not robot streams. */
export function fromStreamName(stream: string): string | null {
  if (!stream.startsWith(STREAM_PREFIX)) return null;
  try {
    return decodeURIComponent(stream.slice(STREAM_PREFIX.length));
  } catch {
    return null;
  }
}
