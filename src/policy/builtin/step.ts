/**
 * `step`: AWS EC2 Auto Scaling step scaling.
 *
 * Source: https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html and
 * the StepAdjustment / PutScalingPolicy API reference.
 * - Each step has bounds relative to `threshold` (the alarm threshold; 0 makes them absolute).
 *   Above the threshold the lower bound is inclusive and the upper exclusive; below it the lower
 *   bound is exclusive and the upper inclusive. A missing bound is −∞ / +∞.
 * - `type: change` (ChangeInCapacity) adds `change`, `percent` (PercentChangeInCapacity) adds
 *   `change` % of the current capacity, rounded as AWS does (|x| < 1 → ±1, else toward zero),
 *   at least `min_adjustment_magnitude`; `exact` (ExactCapacity) sets the count.
 * - No matching step: no change.
 */
import type { Policy, PolicyContext, PolicyOutcome } from '../policy.js';
import { paramReader, paramsError } from './params.js';
import { readMetric } from './read-metric.js';
import { failure, recommend } from './outcome.js';

/** One step adjustment. */
export interface StepAdjustment {
  lower: number;
  upper: number;
  change: number;
  type: 'change' | 'percent' | 'exact';
}

/** Validated step params. */
export interface StepParams {
  metric: string;
  threshold: number;
  steps: StepAdjustment[];
  minAdjustmentMagnitude: number;
}

/** Validates step params. */
export function parseStepParams(params: Readonly<Record<string, unknown>>): StepParams {
  const r = paramReader('step', params);
  r.onlyKeys(['metric', 'threshold', 'steps', 'adjustment_type', 'min_adjustment_magnitude']);
  const metric = r.string('metric', 'cpu');
  const threshold = r.number('threshold', 0);
  const defType = r.oneOf('adjustment_type', ['change', 'percent', 'exact'] as const, 'change');
  const minAdjustmentMagnitude = r.number('min_adjustment_magnitude', 0, { min: 0 });
  const raw = r.raw('steps');
  if (!Array.isArray(raw) || raw.length === 0)
    r.fail(`steps: expected a non-empty list of {lower, upper, change, type}, got ${JSON.stringify(raw)}`);
  const steps = (raw as unknown[]).map((item, i): StepAdjustment => {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      paramsError('step', `steps[${i}]: expected {lower, upper, change}`);
    const s = paramReader('step', item as Record<string, unknown>, `steps[${i}].`);
    s.onlyKeys(['lower', 'upper', 'change', 'type']);
    const lower = s.optionalNumber('lower') ?? -Infinity;
    const upper = s.optionalNumber('upper') ?? Infinity;
    if (!(lower < upper)) s.fail(`steps[${i}]: lower (${lower}) must be < upper (${upper})`);
    const type = s.oneOf('type', ['change', 'percent', 'exact'] as const, defType);
    const change = s.number('change', undefined, type === 'exact' ? { min: 0 } : undefined);
    return { lower, upper, change, type };
  });
  const sorted = [...steps].sort((a, b) => a.lower - b.lower);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.lower < sorted[i - 1]!.upper)
      r.fail(
        `steps: ranges overlap ([${sorted[i - 1]!.lower}, ${sorted[i - 1]!.upper}) and [${sorted[i]!.lower}, ${sorted[i]!.upper}))`,
      );
  }
  return { metric, threshold, steps, minAdjustmentMagnitude };
}

/** The step whose interval holds `value − threshold`, with AWS's inclusive/exclusive rule. */
export function matchStep(
  steps: readonly StepAdjustment[],
  value: number,
  threshold: number,
): StepAdjustment | undefined {
  const d = value - threshold;
  for (const s of steps) {
    const hit = d >= 0 ? d >= s.lower && d < s.upper : d > s.lower && d <= s.upper;
    if (hit) return s;
  }
  return undefined;
}

/** Applies one adjustment to `current` capacity (AWS rounding for percent changes). */
export function applyStep(step: StepAdjustment, current: number, minAdjustmentMagnitude = 0): number {
  if (step.type === 'exact') return step.change;
  if (step.type === 'change') return current + step.change;
  let delta = (current * step.change) / 100;
  // AWS: between 0 and 1 → 1 (and −1..0 → −1); otherwise rounded toward zero
  if (delta > 0 && delta < 1) delta = 1;
  else if (delta < 0 && delta > -1) delta = -1;
  else delta = Math.trunc(delta);
  if (minAdjustmentMagnitude > 0 && Math.abs(delta) < minAdjustmentMagnitude)
    delta = Math.sign(delta) * minAdjustmentMagnitude;
  return current + delta;
}

/** Creates the step policy. */
export function step(params: Readonly<Record<string, unknown>>): Policy {
  const p = parseStepParams(params);
  return {
    name: 'builtin:step',
    source: `step: AWS step adjustments on ${p.metric} around ${p.threshold} (${p.steps.length} steps)`,
    evaluate(ctx: PolicyContext): PolicyOutcome {
      try {
        const obs = ctx.observation;
        const value = obs.fresh === false ? undefined : readMetric(obs, p.metric);
        if (value === undefined)
          return recommend(obs.replicas, `no ${p.metric} data: keep ${obs.replicas}`, {
            metric: p.metric,
            value: null,
          });
        const s = matchStep(p.steps, value, p.threshold);
        if (!s)
          return recommend(obs.replicas, `${p.metric} ${value}: no step matches`, {
            metric: p.metric,
            value,
            threshold: p.threshold,
            step: null,
          });
        const desired = Math.max(0, applyStep(s, obs.replicas, p.minAdjustmentMagnitude));
        return recommend(
          desired,
          `${p.metric} ${value}: step [${s.lower}, ${s.upper}) ${s.type} ${s.change}`,
          {
            metric: p.metric,
            value,
            threshold: p.threshold,
            step: { lower: s.lower, upper: s.upper, change: s.change, type: s.type },
          },
        );
      } catch (err) {
        return failure('step', err);
      }
    },
  };
}
