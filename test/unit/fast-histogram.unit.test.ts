// The fast histogram exposes exactly what prom-client's own Histogram exposes for the same
// observations: bucket bounds, cumulative counts, +Inf, sum and count, labelled or not.

import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../src/metrics/fast-histogram.js';
import { mulberry32 } from '../../src/tools/random.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];

describe('FastHistogram', () => {
  it('gives the same exposition as prom-client for the same labelled observations, and resets', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastHistogram<'route' | 'status_class'>({ name: 'h', help: 'help text', labelNames: ['route', 'status_class'], buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({ name: 'h', help: 'help text', labelNames: ['route', 'status_class'], buckets: BUCKETS, registers: [theirs] });
    const random = mulberry32(7);
    const sets = [
      { route: '/api/robots/:robot', status_class: '2xx' },
      { route: '/api/robots/:robot', status_class: '4xx' },
      { route: 'unmatched', status_class: '4xx' },
    ];
    const series = sets.map((labels) => fast.series(labels));
    for (let i = 0; i < 1000; i++) {
      const k = Math.floor(random() * sets.length);
      // Bounds themselves land in their own bucket (le is inclusive); some values pass every bound.
      const value = i % 10 === 0 ? BUCKETS[i % BUCKETS.length]! : random() ** 3 * 30;
      series[k]!.observe(value);
      reference.observe(sets[k]!, value);
    }
    // Series come out in the order they were made here, in first-observation order there.
    const lines = async (registry: Registry) => (await registry.metrics()).split('\n').sort();
    expect(await lines(ours)).toEqual(await lines(theirs));
    ours.resetMetrics();
    expect(await ours.metrics()).toMatch(/^h_count\{route="unmatched",status_class="4xx"\} 0$/m);
  });

  it('shows an unlabelled histogram from the start, like prom-client', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastHistogram({ name: 'u', help: 'unlabelled', buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({ name: 'u', help: 'unlabelled', buckets: BUCKETS, registers: [theirs] });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    for (const value of [0, 0.5, 5, 50]) {
      fast.observe(value);
      reference.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
