/** Merging the Prometheus registries of a cluster's workers (and its primary) for one `/metrics`. */
import type { MetricJson } from './cluster-protocol.js';

/**
 * Prometheus aggregation fixes for figures that do not add up across processes (prom-client sums
 * by default): quantiles and the event-loop lag take the worst process, the adaptive controller's
 * ratios the mean. Counters, histograms, gauges of counts and limits add up.
 */
export function mergeWorkerMetrics(parts: MetricJson[][]): MetricJson[][] {
  const worst = new Set(['luascale_event_loop_lag_seconds']);
  const mean = new Set([
    'luascale_adaptive_min_rtt_seconds',
    'luascale_adaptive_sample_rtt_seconds',
    'luascale_adaptive_gradient',
  ]);
  const summaries = new Map<string, MetricJson>();
  const out: MetricJson[][] = [];
  for (const list of parts) {
    const kept: MetricJson[] = [];
    for (const m of list) {
      if (worst.has(m.name)) kept.push({ ...m, aggregator: 'max' });
      else if (mean.has(m.name)) kept.push({ ...m, aggregator: 'average' });
      else if (m.name === 'luascale_queue_wait_seconds') {
        // quantile samples: the worst worker's; _sum and _count: the total
        const acc = summaries.get(m.name);
        if (acc === undefined) {
          const copy = { ...m, values: m.values.map((v) => ({ ...v })) };
          summaries.set(m.name, copy);
          kept.push(copy);
          continue;
        }
        for (const v of m.values) {
          const key = `${v.metricName ?? ''}${JSON.stringify(v.labels)}`;
          const a = acc.values.find((x) => `${x.metricName ?? ''}${JSON.stringify(x.labels)}` === key);
          if (a === undefined) acc.values.push({ ...v });
          else if ('quantile' in v.labels) a.value = Math.max(a.value, v.value);
          else a.value += v.value;
        }
      } else kept.push(m);
    }
    out.push(kept);
  }
  return out;
}
