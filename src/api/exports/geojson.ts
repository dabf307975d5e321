// GeoJSON export (RFC 7946): one Feature whose geometry is the robot's path — a LineString for two
// or more events, a Point for one, null for none (a LineString needs two positions) — and whose
// properties carry the robot, the range, its odometer and one timestamp per position.
// Coordinates are the robots' own plane units, NOT WGS84 longitude/latitude as RFC 7946 assumes.
//
// Properties come first: the timestamps are read from the projection (which already holds them),
// the coordinates from the log, so each is written in one streaming pass.

import { EVENT_STRIDE } from '../../domain/location.js';
import { EXPORT_PAGE_EVENTS } from './pages.js';
import { exactNumber } from './numbers.js';

export interface GeoJsonRange {
  readonly robot: string;
  readonly startTime: number;
  readonly endTime: number;
  /** Distance along the exported positions; null when it overflows a double. */
  readonly odometer: number | null;
  /** The exported events' timestamps, in order (one per position). */
  readonly timestamps: Float64Array;
}

export async function* geoJsonBody(range: GeoJsonRange, pages: AsyncIterable<Float64Array>): AsyncGenerator<string> {
  const { timestamps } = range;
  const count = timestamps.length;
  yield `{"type":"Feature","properties":{"robot":${JSON.stringify(range.robot)},"start_time":${range.startTime},` +
    `"end_time":${range.endTime},"event_count":${count},"odometer":${range.odometer === null ? 'null' : exactNumber(range.odometer)},` +
    `"coordinate_system":"robot plane units, not WGS84","timestamps":[`;
  for (let from = 0; from < count; from += EXPORT_PAGE_EVENTS) {
    const to = Math.min(count, from + EXPORT_PAGE_EVENTS);
    let text = '';
    for (let i = from; i < to; i++) text += i === 0 ? `${timestamps[i]}` : `,${timestamps[i]}`;
    yield text;
  }
  if (count === 0) {
    yield ']},"geometry":null}';
    return;
  }
  yield count === 1 ? ']},"geometry":{"type":"Point","coordinates":' : ']},"geometry":{"type":"LineString","coordinates":[';
  let written = 0;
  for await (const events of pages) {
    let text = '';
    for (let i = 0; i < events.length; i += EVENT_STRIDE) {
      text += `${written++ === 0 ? '' : ','}[${exactNumber(events[i]!)},${exactNumber(events[i + 1]!)}]`;
    }
    yield text;
  }
  yield count === 1 ? '}}' : ']}}';
}
