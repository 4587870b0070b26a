/**
 * The decision core: one pure function from (spec, { observation, history, state, now }) to a
 * Decision and the next state. The live controller and the simulator both call it, so a
 * replayed tick gives the same answer as the live one. No clock reads, no I/O, inputs are
 * never mutated; time is `now` (Knative's scaler takes `now`; the HPA's stabilizer reads the
 * wall clock, which is what we avoid).
 *
 * Pipeline, each stage recorded as a DecisionStep when it changes or holds the value:
 *   1. paused → keep; manual override → that count (clamped), expired overrides dropped
 *   2. stale metrics → NoData, keep (HPA: no scale-down on invalid metrics)
 *   3. policy.evaluate → recommendation, or PolicyError and keep
 *   4. tolerance band
 *   5. Knative panic mode (stable ↔ panic)
 *   6. HPA stabilization windows
 *   7. HPA per-period change limits
 *   8. cooldown
 *   9. starting instances (no scale-down while instances start)
 *  10. clamp to [min, max]
 * docs/decisions.md explains each rule with its source.
 *
 * Controller mode state machine (Knative pkg/autoscaler/scaling/autoscaler.go `Scale`):
 *   stable --(recommendation ≥ threshold × max(1, ready))--> panic, panicUntil = now + hold
 *   panic  --(trigger again)--> panic, panicUntil = now + hold
 *   panic  --(no trigger and panicUntil < now)--> stable
 */
import type { Decision, DecisionState, DecisionStep, ReasonCode, ScalingSpec } from './decision.js';
import type { HistoryReader, Observation, PolicyOutcome } from '../policy/policy.js';
import { rememberRecommendation } from './remember-recommendation.js';
import { finishDecision, type Tick, type Verdict } from './finish-decision.js';
import { describeRules, scaleDownLimit, scaleUpLimit, withinTolerance } from './scaling-rules.js';
import { formatInstant, formatSpan, formatUntil } from '../core/format-time.js';

export { defaultBehavior } from './behavior-defaults.js';
export { scaleDownLimit, scaleUpLimit, withinTolerance } from './scaling-rules.js';
export { rememberRecommendation } from './remember-recommendation.js';

/** One tick's inputs besides the spec: what was observed, its history, the carried state and `now` (ms). */
export interface DecideInput {
  observation: Observation;
  history: HistoryReader;
  state: DecisionState;
  now: number;
}

/** What one tick returns: the Decision to act on and the state to pass to the next tick. */
export interface DecideResult {
  decision: Decision;
  state: DecisionState;
}

/** The manual override in force at `now`, or null: overrides expire at `until` (exclusive). */
export function activeOverride(state: DecisionState, now: number): DecisionState['override'] {
  const o = state.override;
  return o && (o.until === null || now < o.until) ? o : null;
}

/**
 * Whether decide() evaluates the policy at `now` (stages 1 and 2 let it through): not paused, no
 * override in force, fresh metrics. The controller asks the same question before it runs a policy
 * off-thread, so the two cannot drift apart.
 */
export function policyRuns(state: DecisionState, observation: Observation, now: number): boolean {
  return !state.paused && activeOverride(state, now) === null && observation.fresh !== false;
}

/**
 * Runs the decision pipeline for one service at time `now` (ms); pure.
 *
 * Kept as one function on purpose: the ten stages of the file comment run top to bottom, each a
 * numbered block that reads and narrows the same few locals (value, steps, the hold reason), and an
 * early stage may end the tick. Split into ten functions, that shared state would travel through
 * every signature and the order, which is the algorithm, would no longer be visible in one place.
 * The rules each stage applies live beside it: scaling-rules.ts, remember-recommendation.ts; every
 * exit ends through finish-decision.ts.
 */
export function decide(spec: ScalingSpec, input: DecideInput): DecideResult {
  const { observation, history, state, now } = input;
  const current = Math.max(0, Math.round(observation.replicas));
  const steps: DecisionStep[] = [];
  const b = spec.behavior;

  // Overrides expire at `until` (exclusive): drop them from the state we hand back.
  const override = activeOverride(state, now);
  const base: DecisionState = override === state.override ? state : { ...state, override };

  // Every exit below builds its Decision the same way; only the outcome differs.
  const tick: Tick = { spec, observation, state: base, now, current, steps };
  const end = (
    replicas: number,
    reason: ReasonCode,
    message: string,
    policy: Pick<Verdict, 'outcome' | 'evaluated'> = {},
  ): DecideResult => finishDecision(tick, { replicas, reason, message, ...policy });

  // 1. Hands off: a paused service is neither evaluated nor clamped.
  if (state.paused) {
    steps.push({
      stage: 'paused',
      from: current,
      to: current,
      reason: 'Paused',
      note: `paused, kept ${current}`,
    });
    return end(current, 'Paused', `paused: kept ${current}`);
  }

  // 1b. Manual override: an operator's explicit count wins over every window and limit.
  if (override) {
    const until = override.until === null ? 'until cleared' : formatUntil(override.until, now);
    steps.push({
      stage: 'override',
      from: current,
      to: override.replicas,
      reason: 'ManualOverride',
      note: `manual override to ${override.replicas} ${until}`,
    });
    const replicas = bound(spec, override.replicas, steps);
    const msg = `manual override: ${current} → ${replicas} ${until}${replicas !== override.replicas ? ` (clamped from ${override.replicas})` : ''}`;
    return end(replicas, 'ManualOverride', msg);
  }

  // 2. HPA (horizontal.go, computeReplicasForMetrics): with invalid metrics it does not scale;
  //    min/max are still enforced, as the HPA does before it looks at metrics at all.
  if (observation.fresh === false) {
    steps.push({
      stage: 'policy',
      from: current,
      to: current,
      reason: 'NoData',
      note: `no fresh metrics, kept ${current}`,
    });
    const replicas = bound(spec, current, steps);
    return end(replicas, 'NoData', describeHold(`no fresh metrics: kept ${current}`, steps));
  }

  // 3. The policy. Its ctx.state is a copy, so a policy that mutates it cannot touch our input;
  //    a Lua policy reads it into its VM, and passing the very object it returned last call lets
  //    the sandbox skip sending it again (a state of 8,500 entries: 35 → 15 ms a call).
  //    (Stages 1 and 2 above are policyRuns(); the controller relies on them agreeing.)
  const ctxState = spec.policy.isolatesState === true ? state.policyState : copyState(state.policyState);
  let outcome: PolicyOutcome;
  try {
    outcome = spec.policy.evaluate({
      service: spec.service,
      now,
      min: spec.min,
      max: spec.max,
      observation,
      params: spec.params,
      state: ctxState,
      history,
    });
  } catch (err) {
    // The Policy contract says evaluate never throws; a buggy built-in must still not stop the tick.
    outcome = {
      ok: false,
      code: 'LS_ERR_POLICY_RUNTIME',
      error: `${spec.policy.name}: ${errorText(err)}`,
      logs: [],
      alerts: [],
    };
  }
  if (outcome.ok && !(Number.isFinite(outcome.replicas) && outcome.replicas >= 0)) {
    outcome = {
      ok: false,
      code: 'LS_ERR_POLICY_RESULT',
      error: `${spec.policy.name}: bad result: replicas must be a finite number >= 0, got ${String(outcome.replicas)}`,
      logs: outcome.logs,
      alerts: outcome.alerts,
    };
  }
  if (!outcome.ok) {
    // Keep the count and the previous policy state; the next tick tries again.
    steps.push({
      stage: 'policy',
      from: current,
      to: current,
      reason: 'PolicyError',
      note: `policy error (${outcome.error}), kept ${current}`,
    });
    const replicas = bound(spec, current, steps);
    return end(
      replicas,
      'PolicyError',
      describeHold(`policy error: ${outcome.error}; kept ${current}`, steps),
      { outcome, evaluated: {} },
    );
  }

  const policyState = outcome.state ?? ctxState;
  const proposed = Math.max(0, Math.ceil(outcome.replicas - 1e-9)); // max(0, ·) also turns −0 into 0
  const head = `${outcome.reason || spec.policy.name}: ${current} → ${proposed} (policy)`;
  steps.push({
    stage: 'policy',
    from: current,
    to: proposed,
    reason: proposed > current ? 'ScaleUp' : proposed < current ? 'ScaleDown' : 'NoChange',
    note: outcome.reason || spec.policy.name,
  });
  let value = proposed;

  // 4. Tolerance band (see withinTolerance for the rule and why a one-replica step passes).
  if (withinTolerance(current, value, b.tolerance)) {
    steps.push({
      stage: 'tolerance',
      from: value,
      to: current,
      reason: 'WithinTolerance',
      note: `within tolerance (|${value}/${current} − 1| = ${round3(Math.abs(value / current - 1))} ≤ ${b.tolerance}), kept ${current}`,
    });
    value = current;
  }
  // The stabilization windows remember this value: the policy's answer after the tolerance,
  // as the HPA remembers its replica calculator's answer.
  const recommendation = value;

  // 5. Knative panic: trigger when the recommendation is ≥ threshold × max(1, ready); each trigger
  //    extends the hold; leave only when the hold has passed with no new trigger.
  let panicUntil: number | null = null;
  if (b.panic.enabled) {
    const ready = Math.max(1, observation.ready);
    const triggered = recommendation >= b.panic.threshold * ready;
    if (triggered) panicUntil = now + b.panic.holdMs;
    else if (state.panicUntil !== null && now <= state.panicUntil) panicUntil = state.panicUntil;
  }
  const panic = panicUntil !== null;
  if (panicUntil !== null) {
    if (value < current) {
      steps.push({
        stage: 'panic',
        from: value,
        to: current,
        reason: 'PanicHold',
        note: `panic until ${formatInstant(panicUntil, now)} (${formatSpan(panicUntil - now)} left, no scale-down), kept ${current}`,
      });
      value = current;
    } else if (value > current) {
      steps.push({
        stage: 'panic',
        from: value,
        to: value,
        reason: 'PanicScaleUp',
        note: `panic until ${formatInstant(panicUntil, now)} (${formatSpan(panicUntil - now)} left; ${recommendation} ≥ ${b.panic.threshold} × ${Math.max(1, observation.ready)} ready)`,
      });
    }
  }

  // 6. HPA normalizeDesiredReplicasWithBehaviors → stabilizeRecommendationWithBehaviors: over each
  //    window keep the lowest recommendation (up) and the highest (down), then move `current` only
  //    as far as both bounds allow. Panic skips the up window (Knative reacts in the panic window).
  const upWindow = panic ? 0 : b.scaleUp.stabilizationMs;
  const downWindow = b.scaleDown.stabilizationMs;
  let upRec = value;
  let downRec = value;
  for (const r of state.recommendations) {
    // HPA: a sample counts when its timestamp is After(now − window).
    if (r.t > now - upWindow && r.replicas < upRec) upRec = r.replicas;
    if (r.t > now - downWindow && r.replicas > downRec) downRec = r.replicas;
  }
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  if (stabilized !== value) {
    const up = stabilized < value;
    steps.push({
      stage: 'stabilization',
      from: value,
      to: stabilized,
      reason: up ? 'ScaleUpStabilized' : 'ScaleDownStabilized',
      note: up
        ? `stabilized to ${stabilized} (lowest recommendation in the ${upWindow / 1000}s up window)`
        : `stabilized to ${stabilized} (highest recommendation in the ${downWindow / 1000}s down window)`,
    });
    value = stabilized;
  }

  // 7. HPA per-period change limits, from the replica count at the start of each period.
  if (value > current) {
    const limit = scaleUpLimit(current, state.changes, b.scaleUp, now);
    if (value > limit) {
      steps.push({
        stage: 'rate-limit',
        from: value,
        to: limit,
        reason: 'ScaleUpLimited',
        note: `limited to ${limit} (${describeRules(b.scaleUp, '+')})`,
      });
      value = limit;
    }
  } else if (value < current) {
    const limit = scaleDownLimit(current, state.changes, b.scaleDown, now);
    if (value < limit) {
      steps.push({
        stage: 'rate-limit',
        from: value,
        to: limit,
        reason: 'ScaleDownLimited',
        note: `limited to ${limit} (${describeRules(b.scaleDown, '−')})`,
      });
      value = limit;
    }
  }

  // 8. Cooldown (AWS simple scaling): no change for cooldownMs after the last one. A panic
  //    scale-up is exempt: panic exists to react to a burst now.
  if (
    value !== current &&
    b.cooldownMs > 0 &&
    state.lastChangeAt !== null &&
    now - state.lastChangeAt < b.cooldownMs &&
    !(panic && value > current)
  ) {
    steps.push({
      stage: 'cooldown',
      from: value,
      to: current,
      reason: 'Cooldown',
      note: `cooldown ${formatUntil(state.lastChangeAt + b.cooldownMs, now)}, kept ${current}`,
    });
    value = current;
  }

  // 9. `current` already counts starting instances, so a recommendation ≤ current launches nothing
  //    more. Scale-down waits until they are ready (AWS instance warm-up blocks scale-in the same
  //    way): removing capacity while new capacity is still unproven is how slow starters end up
  //    scaled again and again (knative/serving #13284, kubernetes/kubernetes #72775).
  if (value < current && observation.starting > 0) {
    steps.push({
      stage: 'startup',
      from: value,
      to: current,
      reason: 'AwaitingStartup',
      note: `${observation.starting} starting, kept ${current}`,
    });
    value = current;
  }

  // 10. Bounds.
  const replicas = bound(spec, value, steps);

  const reason = finalReason(steps, panic);
  let message = head;
  for (let i = 1; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.from !== s.to || s.stage === 'panic') message += `, ${s.note}`;
  }

  const recommendations = rememberRecommendation(
    state.recommendations,
    recommendation,
    now,
    Math.max(b.scaleUp.stabilizationMs, b.scaleDown.stabilizationMs),
  );
  return end(replicas, reason, message, {
    outcome,
    evaluated: { recommendations, panicUntil, policyState },
  });
}

/** Clamps to [min, max], recording the clamp. */
function bound(spec: ScalingSpec, value: number, steps: DecisionStep[]): number {
  if (value > spec.max) {
    steps.push({
      stage: 'bounds',
      from: value,
      to: spec.max,
      reason: 'ClampedToMax',
      note: `clamped to max ${spec.max}`,
    });
    return spec.max;
  }
  if (value < spec.min) {
    steps.push({
      stage: 'bounds',
      from: value,
      to: spec.min,
      reason: 'ClampedToMin',
      note: `clamped to min ${spec.min}`,
    });
    return spec.min;
  }
  return value;
}

/**
 * The most significant reason: the last stage that moved the value (a hold moves it back to
 * current, so it counts). With nothing moved, NoChange. A scale-up decided in panic is PanicScaleUp.
 */
function finalReason(steps: readonly DecisionStep[], panic: boolean): ReasonCode {
  let reason: ReasonCode = 'NoChange';
  for (const s of steps) if (s.from !== s.to) reason = s.reason;
  if (reason === 'ScaleUp' && panic) return 'PanicScaleUp';
  return reason;
}

/** A hold message plus any clamp that still applied. */
function describeHold(head: string, steps: readonly DecisionStep[]): string {
  const clamp = steps.find((s) => s.stage === 'bounds');
  return clamp ? `${head}, ${clamp.note}` : head;
}

/** A deep copy of the policy state (policies may mutate nested values such as history arrays). */
function copyState(s: Record<string, unknown>): Record<string, unknown> {
  for (const _ in s) return structuredClone(s);
  return {};
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
