// Builds a download of a robot's events in one of the export formats as a Readable that pulls one
// page from the log per read, so back-pressure from the socket paces the log reads.

import { Readable } from 'node:stream';
import type { RobotProjection } from '../../projections/robot-projection.js';
import type { EventLog } from '../../store/event-log.js';
import { csvBody } from './csv.js';
import type { ExportFormat } from './formats.js';
import { geoJsonBody } from './geojson.js';
import { gpxBody } from './gpx.js';
import { eventPages, EXPORT_PAGE_EVENTS, readPage } from './pages.js';

export interface ExportRequest {
  readonly format: Exclude<ExportFormat, 'json'>;
  readonly log: EventLog;
  readonly robot: string;
  /** The robot's projection, or undefined for an unknown robot (an empty export). */
  readonly projection: RobotProjection | undefined;
  readonly startTime: number;
  readonly endTime: number;
  /** Revisions [first, first + count) are exported. */
  readonly first: number;
  readonly count: number;
}

/**
 * The export body. The first page is read before this resolves, so a store that cannot be read
 * fails the request with a JSON error instead of cutting a body short after the headers went out.
 */
export async function exportStream(request: ExportRequest): Promise<Readable> {
  const { log, robot, first, count } = request;
  const firstPage = count === 0 ? undefined : await readPage(log, robot, first, Math.min(EXPORT_PAGE_EVENTS, count));
  const pages = eventPages({ log, robot, first, count }, firstPage);
  // Byte mode with a one-byte high-water mark: at most one page waits here for the socket.
  return Readable.from(body(request, pages), { objectMode: false, highWaterMark: 1 });
}

function body(request: ExportRequest, pages: AsyncIterable<Float64Array>): AsyncGenerator<string> {
  switch (request.format) {
    case 'csv':
      return csvBody(request.robot, pages);
    case 'gpx':
      return gpxBody(request.robot, pages);
    case 'geojson':
      return geoJsonBody(geoJsonRange(request), pages);
  }
}

function geoJsonRange({ robot, projection, startTime, endTime, first, count }: ExportRequest) {
  // A copy of the range's timestamps, taken now: the values of existing revisions never change, so
  // the copy stays right whatever the projection does (or a rebuild replaces it) while the export streams.
  const timestamps = projection === undefined ? new Float64Array(0) : projection.copyTimestamps(first, first + count);
  let odometer: number | null = 0;
  if (projection !== undefined && count >= 2) {
    odometer = projection.cumulativeAt(first + count - 1) - projection.cumulativeAt(first);
    // Coordinates near ±1e308 can overflow the path length to Infinity (and Infinity − Infinity).
    if (!Number.isFinite(odometer)) odometer = null;
  }
  return { robot, startTime, endTime, odometer, timestamps };
}
