// Robot names ↔ EventStoreDB stream names: `robot-<percent-encoded name>`.
//
// Percent-encoding keeps every valid robot name (spaces, non-ASCII, '$', '/', '-') inside a plain
// ASCII stream name that cannot start with '$' (system streams) and always carries the prefix the
// $all subscription filters on; decoding gives the exact name back. The prefix is configurable so
// that tests against a shared server can work in a namespace of their own.

export const DEFAULT_STREAM_PREFIX = 'robot-';

export class StreamNames {
  constructor(readonly prefix: string = DEFAULT_STREAM_PREFIX) {}

  of(robot: string): string {
    return this.prefix + encodeURIComponent(robot);
  }

  /** The robot of a stream, or null for streams that are not this log's robot streams. */
  robotOf(stream: string): string | null {
    if (!stream.startsWith(this.prefix)) return null;
    try {
      return decodeURIComponent(stream.slice(this.prefix.length));
    } catch {
      return null;
    }
  }
}
