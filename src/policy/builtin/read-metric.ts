/**
 * Reads one named signal from an Observation. Metric names are the Observation's field names
 * (`cpu`, `rps`, `latency.p95`, ...) or a custom name from `observation.metrics`.
 */
import type { Observation } from '../policy.js';

/** The built-in metric names every Observation carries. */
export const BUILTIN_METRICS = [
  'cpu',
  'memory',
  'rps',
  'inflight',
  'queue',
  'shed_rps',
  'error_rate',
  'latency.p50',
  'latency.p95',
  'latency.p99',
] as const;

/** The value of `metric` in `obs`, or undefined when it is absent or not a finite number. */
export function readMetric(obs: Observation, metric: string): number | undefined {
  let v: unknown;
  switch (metric) {
    case 'cpu':
      v = obs.cpu;
      break;
    case 'memory':
      v = obs.memory;
      break;
    case 'rps':
      v = obs.rps;
      break;
    case 'inflight':
    case 'concurrency':
      v = obs.inflight;
      break;
    case 'queue':
      v = obs.queue;
      break;
    case 'shed_rps':
      v = obs.shed_rps;
      break;
    case 'error_rate':
      v = obs.error_rate;
      break;
    case 'latency.p50':
      v = obs.latency?.p50;
      break;
    case 'latency.p95':
      v = obs.latency?.p95;
      break;
    case 'latency.p99':
      v = obs.latency?.p99;
      break;
    default:
      v = obs.metrics?.[metric];
  }
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Whether `metric` is a per-instance utilisation (an average over ready instances, in percent),
 * for which the HPA ratio formula `ready × value / target` applies. Everything else is treated
 * as a service-wide total whose target is a per-instance share: `value / target`.
 */
export function isUtilizationMetric(metric: string): boolean {
  return metric === 'cpu' || metric === 'memory';
}
