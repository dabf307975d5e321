// GPX 1.1 export: one track, one segment, one trkpt per event.
// The robots' coordinates are plane units, not degrees: lon carries x and lat carries y, verbatim,
// and the file says so in <desc>. Values outside ±180/±90 break the GPX schema's ranges, and any map
// will place the track wrongly; the export exists for tools that read GPX, not for geography.
// <time> is the timestamp as milliseconds since the Unix epoch in ISO 8601 UTC; it is left out for
// timestamps past year 9999, which xsd:dateTime cannot write in four-digit years.

import { EVENT_STRIDE } from '../../domain/location.js';
import { plainDecimal } from './numbers.js';

/** 9999-12-31T23:59:59.999Z. */
const LAST_ISO_MS = 253402300799999;

export async function* gpxBody(robot: string, pages: AsyncIterable<Float64Array>): AsyncGenerator<string> {
  const name = escapeXml(robot);
  yield '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<gpx version="1.1" creator="robot-telemetry" xmlns="http://www.topografix.com/GPX/1/1">\n' +
    `<metadata><name>${name}</name><desc>Robot plane coordinates, not WGS84: lon is x, lat is y, in the robot's units.</desc></metadata>\n` +
    `<trk><name>${name}</name><trkseg>\n`;
  // One Date for the whole export: setTime per point instead of a new object per event.
  const date = new Date(0);
  for await (const events of pages) {
    let text = '';
    for (let i = 0; i < events.length; i += EVENT_STRIDE) {
      const t = events[i + 2]!;
      let time = '';
      if (t <= LAST_ISO_MS) {
        date.setTime(t);
        time = `<time>${date.toISOString()}</time>`;
      }
      text += `<trkpt lat="${plainDecimal(events[i + 1]!)}" lon="${plainDecimal(events[i]!)}">${time}</trkpt>\n`;
    }
    yield text;
  }
  yield '</trkseg></trk>\n</gpx>\n';
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes markup, and replaces what XML 1.0 cannot hold (U+FFFE, U+FFFF, lone surrogates) with U+FFFD. */
export function escapeXml(text: string): string {
  return text
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)
    .replace(/[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
