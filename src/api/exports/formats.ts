// The representations of a robot's events and how each is named: `?format=` value, media type
// matched against Accept, Content-Type sent, and file extension for Content-Disposition.

export const EXPORT_FORMATS = ['json', 'csv', 'geojson', 'gpx'] as const;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface FormatInfo {
  /** The media type matched against Accept. */
  readonly mediaType: string;
  /** The Content-Type header sent. */
  readonly contentType: string;
  /** File extension for Content-Disposition; null for JSON, which is not sent as a download. */
  readonly extension: string | null;
}

export const FORMAT_INFO: Readonly<Record<ExportFormat, FormatInfo>> = Object.freeze({
  json: { mediaType: 'application/json', contentType: 'application/json; charset=utf-8', extension: null },
  csv: { mediaType: 'text/csv', contentType: 'text/csv; charset=utf-8; header=present', extension: 'csv' },
  // RFC 7946 defines no charset parameter: GeoJSON is always UTF-8.
  geojson: { mediaType: 'application/geo+json', contentType: 'application/geo+json', extension: 'geojson' },
  gpx: { mediaType: 'application/gpx+xml', contentType: 'application/gpx+xml; charset=utf-8', extension: 'gpx' },
});
