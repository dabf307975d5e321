// A Prometheus histogram whose observe() is a bucket search and three additions. prom-client's
// Histogram builds closures, validates and hashes the label object on every observe: on the REST
// path that was 4.3 % of a request's CPU (profile in BENCHMARKS.md, "REST"), and the log observes
// twice per append. Series are
// made once per label set (`series(labels)`), and the registry reads them at scrape time in the
// same exposition prom-client gives (a test compares the two).

import type { Metric, Registry } from 'prom-client';

/** One exported sample, as prom-client's registry reads them from `get()`. */
interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  /** The series' own labels; printed after `labels` (so `le` comes first, as prom-client prints it). */
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
}

export interface FastHistogramOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

/** One label set's counts. */
export class HistogramSeries {
  /** Per bucket (not cumulative); the last slot counts values above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: Float64Array,
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram<L extends string = never> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: Float64Array;
  private readonly all: HistogramSeries[] = [];
  private readonly unlabelled: HistogramSeries | undefined;

  constructor(options: FastHistogramOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.bounds = Float64Array.from([...options.buckets].sort((a, b) => a - b));
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
    // Like prom-client, a histogram without labels shows its (zero) series from the start.
    if ((options.labelNames ?? []).length === 0) this.unlabelled = this.series({} as Record<L, string>);
  }

  /** A new series for `labels`: keep it and observe through it (callers cache per label set). */
  series(labels: Readonly<Record<L, string>>): HistogramSeries {
    const series = new HistogramSeries(this.bounds, labels);
    this.all.push(series);
    return series;
  }

  /** Observes into the unlabelled series. */
  observe(value: number): void {
    this.unlabelled!.observe(value);
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] } {
    const values: Sample[] = [];
    for (const series of this.all) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: series.labels, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const series of this.all) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
