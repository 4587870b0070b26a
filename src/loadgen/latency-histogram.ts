/** Latency histograms for the load generators: HdrHistogram in microseconds, summarised in ms. */
import { build, type Histogram } from 'hdr-histogram-js';

/** Latency percentiles in ms. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** A histogram of microseconds, 3 significant digits, up to one hour. */
export function histogram(): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records `ms` milliseconds (at least 1 µs, so zero gaps count). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(ms * 1000))));
}

/** The value at `percentile`, ms (0 when empty). */
export function percentileMs(h: Histogram, percentile: number): number {
  return h.totalCount === 0 ? 0 : h.getValueAtPercentile(percentile) / 1000;
}

/** p50/p90/p95/p99/max/mean in ms (all 0 when empty). */
export function summarise(h: Histogram): LatencySummary {
  const empty = h.totalCount === 0;
  const p99 = percentileMs(h, 99);
  return {
    p50: percentileMs(h, 50),
    p90: percentileMs(h, 90),
    p95: percentileMs(h, 95),
    p99,
    // a percentile reads its bucket's top and maxValue its bucket's bottom: max never below p99
    max: empty ? 0 : Math.max(p99, h.maxValue / 1000),
    mean: empty ? 0 : h.mean / 1000,
  };
}
