/**
 * `target-tracking`: hold one metric at a target (AWS target tracking, without the alarms:
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html).
 *
 * - Utilisation metrics (cpu, memory: averages over ready instances, percent):
 *   desired = ceil(ready × value / target), the proportional rule AWS and the HPA share.
 * - Everything else (rps, inflight, queue, custom totals) is a service-wide total and `target`
 *   is what one instance should carry: desired = ceil(value / target).
 * `type` overrides the guess for custom metrics.
 *
 * With no value for `metric` (CPU from a provider that reports no usage, a metric source that is
 * down) it holds the count, as the HPA does on missing metrics, unless a `fallback` ({ metric,
 * target }) has a value: the default policy tracks CPU where it is measured, else in-flight
 * requests (src/config/scaling-schema.ts).
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
  /** What to track while `metric` has no value. */
  fallback?: Omit<TargetTrackingParams, 'fallback'>;
}

/** Validates target-tracking params (throws LS_ERR_POLICY_PARAMS). */
export function parseTargetTrackingParams(
  params: Readonly<Record<string, unknown>>,
  builtin = 'target-tracking',
): TargetTrackingParams {
  const r = paramReader(builtin, params);
  const nested = builtin.endsWith('.fallback');
  r.onlyKeys(nested ? ['metric', 'target', 'type'] : ['metric', 'target', 'type', 'fallback']);
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
  const raw = nested ? undefined : r.raw('fallback');
  if (raw === undefined || raw === null) return { metric, target, kind };
  if (typeof raw !== 'object' || Array.isArray(raw)) r.fail('fallback: expected { metric, target }');
  const fallback = parseTargetTrackingParams(raw as Record<string, unknown>, `${builtin}.fallback`);
  return { metric, target, kind, fallback };
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
    source: `target-tracking: hold ${describe(p)}${p.fallback ? `; without ${p.metric} data, ${describe(p.fallback)}` : ''}`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const primary = obs.fresh === false ? undefined : readMetric(obs, p.metric);
        const fb = primary === undefined && p.fallback && obs.fresh !== false ? p.fallback : undefined;
        const fbValue = fb ? readMetric(obs, fb.metric) : undefined;
        if (fb && fbValue !== undefined) return track(fb, fbValue, obs, `no ${p.metric} data; `);
        if (primary === undefined) {
          const names = p.fallback ? `${p.metric} or ${p.fallback.metric}` : p.metric;
          return recommend(obs.replicas, `no ${names} data: keep ${obs.replicas}`, {
            metric: p.metric,
            value: null,
            target: p.target,
          });
        }
        return track(p, primary, obs, '');
      } catch (err) {
        return failure('target-tracking', err);
      }
    },
  };
}

function describe(p: Omit<TargetTrackingParams, 'fallback'>): string {
  return `${p.metric} at ${p.target} (${p.kind === 'utilization' ? 'ceil(ready × value/target)' : 'ceil(value/target)'})`;
}

/** The recommendation for `p.metric` at `value`; `lead` prefixes the reason. */
function track(
  p: Omit<TargetTrackingParams, 'fallback'>,
  value: number,
  obs: PolicyContext['observation'],
  lead: string,
): PolicyOutcome {
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
  return recommend(desired, `${lead}${p.metric} ${round(value)} vs target ${p.target}`, {
    metric: p.metric,
    value,
    target: p.target,
    ratio: ratio === null ? null : round(ratio),
    ready: obs.ready,
  });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
