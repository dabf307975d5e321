// CSV export: a header, then one row per event in the ingest wire format (`x,y,timestamp,robot_name`),
// so an export can be replayed into a service as it is. Rows are not RFC 4180-quoted: the naming
// rules keep commas and line breaks out of robot names, so no field needs quoting.

import { EVENT_STRIDE } from '../../domain/location.js';
import { WIRE_FIELDS } from '../../domain/wire-format.js';
import { exactNumber } from './numbers.js';

export const CSV_HEADER = `${WIRE_FIELDS}\n`;

export async function* csvBody(robot: string, pages: AsyncIterable<Float64Array>): AsyncGenerator<string> {
  yield CSV_HEADER;
  const suffix = `,${robot}\n`;
  for await (const events of pages) {
    let text = '';
    for (let i = 0; i < events.length; i += EVENT_STRIDE) {
      text += `${exactNumber(events[i]!)},${exactNumber(events[i + 1]!)},${events[i + 2]}${suffix}`;
    }
    yield text;
  }
}
