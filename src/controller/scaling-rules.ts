/**
 * The HPA's rules on the size of a change, as pure functions of the count, the recent changes and
 * `now`: the tolerance band and the per-period scale-up and scale-down limits (stages 4 and 7 of
 * decide()). docs/decisions.md explains each with its source.
 */
import type { DecisionState, DirectionBehavior } from './decision.js';

type Change = DecisionState['changes'][number];

/**
 * The tolerance rule, in replicas: no change when |recommended − current| ≤ tolerance × current.
 * It is skipped when current is 0 (HPA: from zero the tolerance does not apply) and it never
 * swallows a one-replica step: that is the smallest change a count-returning policy (the seed's
 * `scale_up_instances()`) can ask for, and swallowing it would freeze such a policy for good once
 * current ≥ 1/tolerance (10 replicas at 0.1). Ratio policies (hpa) apply the HPA's own band to the
 * metric ratio before they answer, so for them this band is a second, coarser filter.
 */
export function withinTolerance(current: number, recommended: number, tolerance: number): boolean {
  if (current <= 0 || tolerance <= 0) return false;
  const delta = Math.abs(recommended - current);
  return delta > 1 && delta <= tolerance * current + 1e-9;
}

/**
 * HPA calculateScaleUpLimitWithScalingRules: each rule allows growth from the count at the start
 * of its period (current − net change within the period); Pods adds `value`, Percent multiplies
 * by (1 + value/100) rounding up; `max` takes the most permissive rule, `min` the least,
 * `disabled` forbids scaling up. Never below `current`.
 */
export function scaleUpLimit(
  current: number,
  changes: readonly Change[],
  rules: DirectionBehavior,
  now: number,
): number {
  if (rules.select === 'disabled') return current;
  if (rules.rules.length === 0) return Infinity;
  let limit = rules.select === 'min' ? Infinity : -Infinity;
  for (const rule of rules.rules) {
    const start = current - netChange(changes, rule.periodMs, now);
    // Integer percent arithmetic: the HPA's float `ceil(10 × 1.1)` gives 12 for 100 replicas + 10 %
    // (111 instead of 110); we compute start × (100 + p) / 100. A percent of 0 replicas is taken of
    // 1 so a percent-only rule can leave zero (Knative likewise uses max(1, ready)).
    const proposed =
      rule.type === 'pods'
        ? start + rule.value
        : Math.ceil((Math.max(1, start) * (100 + rule.value)) / 100 - 1e-9);
    limit = rules.select === 'min' ? Math.min(limit, proposed) : Math.max(limit, proposed);
  }
  return Math.max(current, limit);
}

/**
 * HPA calculateScaleDownLimitWithBehaviors: Pods removes `value` from the period's starting count,
 * Percent keeps floor(start × (1 − value/100)); `max` takes the rule that allows the most change
 * (the lowest count), `min` the least, `disabled` forbids scaling down. Never above `current`.
 */
export function scaleDownLimit(
  current: number,
  changes: readonly Change[],
  rules: DirectionBehavior,
  now: number,
): number {
  if (rules.select === 'disabled') return current;
  if (rules.rules.length === 0) return 0;
  let limit = rules.select === 'min' ? -Infinity : Infinity;
  for (const rule of rules.rules) {
    const start = current - netChange(changes, rule.periodMs, now);
    const proposed =
      rule.type === 'pods' ? start - rule.value : Math.floor((start * (100 - rule.value)) / 100 + 1e-9);
    limit = rules.select === 'min' ? Math.max(limit, proposed) : Math.min(limit, proposed);
  }
  return Math.max(0, Math.min(current, limit));
}

/** HPA getReplicasChangePerPeriod, both directions at once: Σ(to − from) of changes after now − period. */
function netChange(changes: readonly Change[], periodMs: number, now: number): number {
  let net = 0;
  for (const c of changes) if (c.t > now - periodMs) net += c.to - c.from;
  return net;
}

/** The rules of one direction, for a Decision message: `+100%/15s or +4 pods/15s, select max`. */
export function describeRules(d: DirectionBehavior, sign: string): string {
  const rules = d.rules.map(
    (r) => `${sign}${r.value}${r.type === 'percent' ? '%' : ' pods'}/${r.periodMs / 1000}s`,
  );
  return d.select === 'disabled' ? 'scaling disabled' : `${rules.join(' or ')}, select ${d.select}`;
}
