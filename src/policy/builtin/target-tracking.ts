/**
 * `target-tracking`: hold one metric at a target (AWS target tracking, without the alarms:
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html).
 *
 * - Utilisation metrics (cpu, memory: averages over ready instances, percent):
 *   desired = ceil(ready × value / target), the proportional rule AWS and the HPA share.
 * - Everything else (rps, inflight, queue, custom totals) is a service-wide total and `target`
 *   is what one instance should carry: desired = ceil(value / target).
 * `type` overrides the guess for custom metrics.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { paramReader } from './params.js';
import { isUtilizationMetric, readMetric } from './read-metric.js';
import { failure, recommend } from './outcome.js';

/** How a metric relates to the replica count. */
export type MetricKind = 'utilization' | 'total';

/** Validated target-tracking params. */
export interface TargetTrackingParams {
  metric: string;
  target: number;
  kind: MetricKind;
}

/** Validates target-tracking params (throws LS_ERR_POLICY_PARAMS). */
export function parseTargetTrackingParams(
  params: Readonly<Record<string, unknown>>,
  builtin = 'target-tracking',
): TargetTrackingParams {
  const r = paramReader(builtin, params);
  r.onlyKeys(['metric', 'target', 'type']);
  const metric = r.string('metric', 'cpu');
  const target = r.number('target', metric === 'cpu' || metric === 'memory' ? 70 : undefined, {
    min: 0,
    exclusiveMin: true,
  });
  const kind = r.oneOf(
    'type',
    ['utilization', 'total'] as const,
    isUtilizationMetric(metric) ? 'utilization' : 'total',
  );
  return { metric, target, kind };
}

/**
 * The proportional answer for one metric value: `ready × value/target` for utilisation,
 * `value/target` for totals. With no ready instance a utilisation cannot be read, so the
 * answer is undefined (callers keep the current count).
 */
export function trackingReplicas(
  kind: MetricKind,
  value: number,
  target: number,
  ready: number,
): number | undefined {
  if (kind === 'total') return Math.max(0, Math.ceil(value / target - 1e-9));
  if (ready <= 0) return undefined;
  return Math.max(0, Math.ceil((ready * value) / target - 1e-9));
}

/** Creates the target-tracking policy. */
export function targetTracking(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseTargetTrackingParams(params);
  return {
    name: 'builtin:target-tracking',
    source: `target-tracking: hold ${p.metric} at ${p.target} (${p.kind === 'utilization' ? 'ceil(ready × value/target)' : 'ceil(value/target)'})`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const value = readMetric(obs, p.metric);
        if (value === undefined || obs.fresh === false) {
          return recommend(obs.replicas, `no ${p.metric} data: keep ${obs.replicas}`, {
            metric: p.metric,
            value: null,
            target: p.target,
          });
        }
        const desired = trackingReplicas(p.kind, value, p.target, obs.ready);
        if (desired === undefined) {
          return recommend(obs.replicas, `no ready instance to read ${p.metric}: keep ${obs.replicas}`, {
            metric: p.metric,
            value,
            target: p.target,
          });
        }
        const ratio =
          p.kind === 'utilization' ? value / p.target : obs.ready > 0 ? value / (p.target * obs.ready) : null;
        return recommend(desired, `${p.metric} ${round(value)} vs target ${p.target}`, {
          metric: p.metric,
          value,
          target: p.target,
          ratio: ratio === null ? null : round(ratio),
          ready: obs.ready,
        });
      } catch (err) {
        return failure('target-tracking', err);
      }
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
