// Reply latencies in an HDR histogram of microseconds (1 µs … 60 s, 3 significant digits), encoded
// to cross postMessage and merged in the parent.

import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

const HIGHEST_MICROS = 60_000_000;

export type { Histogram };

export function newLatencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_MICROS, numberOfSignificantValueDigits: 3, autoResize: false });
}

/** Records `ms` milliseconds (anything past 60 s is recorded as 60 s). */
export function recordMs(histogram: Histogram, ms: number): void {
  const micros = Math.round(ms * 1000);
  histogram.recordValue(micros < 0 ? 0 : micros > HIGHEST_MICROS ? HIGHEST_MICROS : micros);
}

export function encodeHistogram(histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram);
}

/** A histogram holding every encoded one. */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const merged = newLatencyHistogram();
  for (const text of encoded) merged.add(decodeFromCompressedBase64(text));
  return merged;
}

export interface LatencySummaryMs {
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function summaryMs(histogram: Histogram): LatencySummaryMs {
  if (histogram.totalCount === 0) return { p50: 0, p75: 0, p90: 0, p99: 0, max: 0 };
  const ms = (micros: number): number => Math.round(micros) / 1000;
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p75: ms(histogram.getValueAtPercentile(75)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
  };
}
