/**
 * Reads one named signal from an Observation. Metric names are the catalogue's load signals
 * (`cpu`, `rps`, `latency.p95`, ...; src/signals/catalog.ts) or a custom name from
 * `observation.metrics`.
 */
import { signalAt, signalIndex, SIGNALS } from '../../signals/index.js';
import type { Observation } from '../policy.js';

/** The value of `metric` in `obs`, or undefined when it is absent or not a finite number. */
export function readMetric(obs: Observation, metric: string): number | undefined {
  // `concurrency` is Knative's word for in flight.
  const name = metric === 'concurrency' ? 'inflight' : metric;
  const i = signalIndex(name);
  const v = i >= 0 && SIGNALS[i]!.kind === 'load' ? signalAt(obs, i) : obs.metrics?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Whether `metric` is a per-instance utilisation (an average over ready instances, in percent),
 * for which the HPA ratio formula `ready × value / target` applies. Everything else is treated
 * as a service-wide total whose target is a per-instance share: `value / target`.
 */
export function isUtilizationMetric(metric: string): boolean {
  const i = signalIndex(metric);
  return i >= 0 && SIGNALS[i]!.aggregate === 'mean';
}
