/**
 * `hpa`: the Kubernetes HorizontalPodAutoscaler (autoscaling/v2) replica calculation.
 *
 * Source: kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator.go and the
 * "Algorithm details" of https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/.
 * - desiredReplicas = ceil(readyPods × currentMetric / targetMetric), skipped while the ratio is
 *   within the tolerance (default 0.1, per direction since KEP-4951).
 * - Pods without a metric ("missing") count as 100 % of request (max(100 %, target)) on a
 *   scale-down and 0 % on a scale-up; not-ready pods count as 0 % on a scale-up only. The ratio
 *   is then recomputed, and if the direction flips or it falls within the tolerance nothing
 *   changes. This damps scale-up while new pods start and scale-down while data is missing.
 * - Totals (rps, inflight, custom) use the External "AverageValue" rule:
 *   ratio = total / (target × current); desired = ceil(total / target).
 * - Several metrics: each proposes a count and the maximum wins; if all are invalid nothing
 *   changes, and if some are invalid only a scale-up is allowed (horizontal.go).
 * The 15 s sync period, the 300 s scale-down stabilization and the rate limits are the decision
 * core's `behavior`, not this function's.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { paramReader, paramsError } from './params.js';
import { isUtilizationMetric, readMetric } from './read-metric.js';
import type { MetricKind } from './target-tracking.js';
import { failure, recommend } from './outcome.js';

/** The HPA's tolerance band: no change while (1 - down) <= ratio <= (1 + up). */
export interface HpaTolerance {
  toleranceUp: number;
  toleranceDown: number;
}

/** Inputs of the HPA calculation for one utilisation (resource) or plain pod metric. */
export interface HpaPodMetricInput extends HpaTolerance {
  /** Replicas the scale target has now (`currentReplicas`). */
  current: number;
  /** Ready pods that reported the metric. */
  readyCount: number;
  /** Average metric over those pods (percent of request for utilisation). */
  readyAvg: number;
  /** Pods not yet ready (starting): 0 % on a scale-up, ignored otherwise. */
  unready: number;
  /** Ready pods with no sample: the fallback on a scale-down, 0 on a scale-up. */
  missing: number;
  target: number;
  /** `utilization` fills missing pods with max(100, target) on a scale-down; `plain` with the target. */
  kind: 'utilization' | 'plain';
}

/** The HPA's answer for one metric and the ratios that explain it. */
export interface HpaResult {
  replicas: number;
  ratio: number;
  /** The recomputed ratio after filling missing and unready pods, when that happened. */
  adjustedRatio?: number;
  note: string;
}

function within(ratio: number, up: number, down: number): boolean {
  // Tolerances.isWithin: (1 - down) <= ratio <= (1 + up)
  return ratio >= 1 - down && ratio <= 1 + up;
}

function ceil(x: number): number {
  return Math.ceil(x - 1e-9);
}

/** replica_calculator.go `calcPlainMetricReplicas` / `GetResourceReplicas`, on counts instead of pod lists. */
export function hpaPodMetricReplicas(i: HpaPodMetricInput): HpaResult | undefined {
  if (i.readyCount <= 0) return undefined; // "did not receive metrics for targeted pods"
  const ratio = i.readyAvg / i.target;
  const scaleUpWithUnready = i.unready > 0 && ratio > 1;
  if (!scaleUpWithUnready && i.missing === 0) {
    if (within(ratio, i.toleranceUp, i.toleranceDown))
      return { replicas: i.current, ratio, note: 'within tolerance' };
    return { replicas: ceil(ratio * i.readyCount), ratio, note: 'ceil(ready × current/target)' };
  }
  let sum = i.readyAvg * i.readyCount;
  let n = i.readyCount;
  if (i.missing > 0) {
    if (ratio < 1) {
      // scale-down: missing pods use 100 % of request (or the target when it is above 100 %)
      sum += i.missing * (i.kind === 'utilization' ? Math.max(100, i.target) : i.target);
      n += i.missing;
    } else if (ratio > 1) {
      // scale-up: missing pods use 0 %
      n += i.missing;
    }
  }
  if (scaleUpWithUnready) n += i.unready; // unready pods use 0 % on a scale-up
  const adjustedRatio = sum / n / i.target;
  if (
    within(adjustedRatio, i.toleranceUp, i.toleranceDown) ||
    (ratio > 1 && adjustedRatio < 1) ||
    (ratio < 1 && adjustedRatio > 1)
  ) {
    return { replicas: i.current, ratio, adjustedRatio, note: 'missing/unready pods cancel the change' };
  }
  const replicas = ceil(adjustedRatio * n);
  if ((adjustedRatio < 1 && replicas > i.current) || (adjustedRatio > 1 && replicas < i.current)) {
    return { replicas: i.current, ratio, adjustedRatio, note: 'missing/unready pods cancel the change' };
  }
  return { replicas, ratio, adjustedRatio, note: 'ceil(pods × adjusted ratio)' };
}

/** replica_calculator.go `GetExternalPerPodMetricReplicas`: a total with a per-pod target. */
export function hpaTotalReplicas(
  current: number,
  total: number,
  targetPerPod: number,
  { toleranceUp, toleranceDown }: HpaTolerance,
): HpaResult {
  if (current <= 0)
    return { replicas: ceil(total / targetPerPod), ratio: Infinity, note: 'from zero: ceil(total/target)' };
  const ratio = total / (targetPerPod * current);
  if (within(ratio, toleranceUp, toleranceDown))
    return { replicas: current, ratio, note: 'within tolerance' };
  return { replicas: ceil(total / targetPerPod), ratio, note: 'ceil(total/target)' };
}

/** One metric the hpa built-in scales on. */
export interface HpaMetricSpec {
  metric: string;
  target: number;
  kind: MetricKind;
}

/** Validated hpa params. */
export interface HpaParams {
  metrics: HpaMetricSpec[];
  toleranceUp: number;
  toleranceDown: number;
}

/** Validates hpa params: `{metric, target}` or `{metrics: [{metric, target, type?}]}`, `tolerance`. */
export function parseHpaParams(params: Readonly<Record<string, unknown>>): HpaParams {
  const r = paramReader('hpa', params);
  r.onlyKeys(['metric', 'target', 'type', 'metrics', 'tolerance', 'tolerance_up', 'tolerance_down']);
  const tolerance = r.number('tolerance', 0.1, { min: 0, max: 1 });
  const toleranceUp = r.number('tolerance_up', tolerance, { min: 0 });
  const toleranceDown = r.number('tolerance_down', tolerance, { min: 0, max: 1 });
  const list = r.raw('metrics');
  const metrics: HpaMetricSpec[] = [];
  if (list !== undefined && list !== null) {
    if (r.raw('metric') !== undefined || r.raw('target') !== undefined)
      r.fail('give either metric/target or metrics, not both');
    if (!Array.isArray(list) || list.length === 0)
      r.fail(`metrics: expected a non-empty list of {metric, target}, got ${JSON.stringify(list)}`);
    (list as unknown[]).forEach((item, idx) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        paramsError('hpa', `metrics[${idx}]: expected {metric, target}`);
      const m = paramReader('hpa', item as Record<string, unknown>, `metrics[${idx}].`);
      m.onlyKeys(['metric', 'target', 'type']);
      const metric = m.string('metric', undefined);
      metrics.push({
        metric,
        target: m.number('target', undefined, { min: 0, exclusiveMin: true }),
        kind: m.oneOf(
          'type',
          ['utilization', 'total'] as const,
          isUtilizationMetric(metric) ? 'utilization' : 'total',
        ),
      });
    });
  } else {
    const metric = r.string('metric', 'cpu');
    metrics.push({
      metric,
      target: r.number('target', isUtilizationMetric(metric) ? 70 : undefined, {
        min: 0,
        exclusiveMin: true,
      }),
      kind: r.oneOf(
        'type',
        ['utilization', 'total'] as const,
        isUtilizationMetric(metric) ? 'utilization' : 'total',
      ),
    });
  }
  return { metrics, toleranceUp, toleranceDown };
}

/** Creates the hpa policy. */
export function hpa(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseHpaParams(params);
  const describe = p.metrics.map((m) => `${m.metric}→${m.target}`).join(', ');
  return {
    name: 'builtin:hpa',
    source: `hpa: Kubernetes HPA v2 ratio formula on ${describe}, tolerance ${p.toleranceUp}/${p.toleranceDown}`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const current = obs.replicas;
        let best: { replicas: number; metric: string } | undefined;
        let invalid = 0;
        const perMetric: Record<string, unknown>[] = [];
        for (const m of p.metrics) {
          const value = obs.fresh === false ? undefined : readMetric(obs, m.metric);
          let res: HpaResult | undefined;
          if (value !== undefined) {
            res =
              m.kind === 'utilization'
                ? hpaPodMetricReplicas({
                    current,
                    readyCount: obs.ready,
                    readyAvg: value,
                    unready: obs.starting,
                    missing: 0,
                    target: m.target,
                    kind: 'utilization',
                    toleranceUp: p.toleranceUp,
                    toleranceDown: p.toleranceDown,
                  })
                : hpaTotalReplicas(current, value, m.target, p);
          }
          if (!res) {
            invalid++;
            perMetric.push({ metric: m.metric, value: value ?? null, target: m.target, valid: false });
            continue;
          }
          perMetric.push({
            metric: m.metric,
            value,
            target: m.target,
            ratio: round(res.ratio),
            adjustedRatio: res.adjustedRatio === undefined ? undefined : round(res.adjustedRatio),
            replicas: res.replicas,
            note: res.note,
          });
          if (!best || res.replicas > best.replicas) best = { replicas: res.replicas, metric: m.metric };
        }
        const first = perMetric[0]!;
        const detail: Record<string, unknown> =
          p.metrics.length === 1 ? { ...first } : { metrics: perMetric };
        if (!best) return recommend(current, `no valid metric: keep ${current}`, detail);
        if (invalid > 0 && best.replicas < current) {
          return recommend(current, `${invalid} metric(s) invalid: no scale-down, keep ${current}`, detail);
        }
        return recommend(
          best.replicas,
          `${best.metric}: ${(perMetric.find((x) => x.metric === best!.metric)?.note as string) ?? ''}`,
          detail,
        );
      } catch (err) {
        return failure('hpa', err);
      }
    },
  };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
