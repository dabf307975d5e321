// Content negotiation for the events route: `?format=` wins; otherwise the Accept header (RFC 9110
// §12.5.1) picks the format with the highest quality, ties going to the server's order (JSON first).
// No Accept header means JSON. An Accept header that admits none of the formats is a 406.

import { createError } from '../../domain/errors.js';
import { EXPORT_FORMATS, FORMAT_INFO, type ExportFormat } from './formats.js';

// How precisely a media range matched a type: a more specific range overrides a broader one.
const NO_MATCH = -1;
const ANY = 0; // */*
const TYPE_ANY = 1; // text/*
const EXACT = 2; // text/csv

const MAX_ECHO = 100;

/** The format to answer with; throws TELEMETRY_NOT_ACCEPTABLE when Accept admits none. */
export function negotiateFormat(format: ExportFormat | undefined, accept: string | undefined): ExportFormat {
  if (format !== undefined) return format;
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = parseAccept(accept);
  let best: ExportFormat | null = null;
  let bestQuality = 0;
  for (const candidate of EXPORT_FORMATS) {
    const quality = qualityOf(FORMAT_INFO[candidate].mediaType, ranges);
    if (quality > bestQuality) {
      best = candidate;
      bestQuality = quality;
    }
  }
  if (best === null) {
    const offered = EXPORT_FORMATS.map((f) => FORMAT_INFO[f].mediaType).join(', ');
    const echo = accept.length > MAX_ECHO ? `${accept.slice(0, MAX_ECHO)}…` : accept;
    throw createError('NOT_ACCEPTABLE', `Accept ${JSON.stringify(echo)} admits none of ${offered}; or choose with ?format=${EXPORT_FORMATS.join('|')}`);
  }
  return best;
}

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly quality: number;
}

function parseAccept(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range = '', ...params] = part.split(';');
    const slash = range.indexOf('/');
    if (slash < 0) continue; // not a media range: ignored, as RFC 9110 lets a recipient do
    const type = range.slice(0, slash).trim().toLowerCase();
    const subtype = range.slice(slash + 1).trim().toLowerCase();
    if (type === '' || subtype === '' || (type === '*' && subtype !== '*')) continue;
    ranges.push({ type, subtype, quality: qualityParam(params) });
  }
  return ranges;
}

/** The `q` parameter: 0–1 with up to three decimals; missing means 1; malformed ranges count as 0. */
function qualityParam(params: string[]): number {
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const value = param.slice(eq + 1).trim();
    return /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(value) ? Number(value) : 0;
  }
  return 1;
}

/** The quality the most specific matching range gives `mediaType`; 0 when none matches. */
function qualityOf(mediaType: string, ranges: readonly MediaRange[]): number {
  const slash = mediaType.indexOf('/');
  const type = mediaType.slice(0, slash);
  const subtype = mediaType.slice(slash + 1);
  let precision = NO_MATCH;
  let quality = 0;
  for (const range of ranges) {
    const p =
      range.type === type && range.subtype === subtype
        ? EXACT
        : range.type === type && range.subtype === '*'
          ? TYPE_ANY
          : range.type === '*'
            ? ANY
            : NO_MATCH;
    // Among equally specific ranges (a repeated type), the first one counts.
    if (p > precision) {
      precision = p;
      quality = range.quality;
    }
  }
  return quality;
}
